import { afterEach, describe, expect, it } from 'vitest';
import { render, screen, waitFor, fireEvent, cleanup } from '@testing-library/svelte';
import Tags from './Tags.svelte';
import { Api } from '../lib/api';
import { FakeTransport } from '../test/fake';
import { setLang } from '../lib/i18n.svelte';
import type { IdTag } from '../lib/bindings/IdTag';

const tag = (id_tag: string): IdTag => ({
  id_tag, status: 'Accepted', expiry: null, parent_id_tag: null, group_kind: 'driver', group_name: null, note: null, token_type: null,
  created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z',
});

afterEach(cleanup);

describe('Tags', () => {
  setLang('en');

  it('asks the engine for one page at a time, with the search and filters', async () => {
    let total = 250;
    const t = new FakeTransport({
      'GET /api/id-tags': () => ({ items: Array.from({ length: Math.min(100, total) }, (_, i) => tag(`T${i}`)), total }),
    });
    render(Tags, { api: new Api(t) });
    await waitFor(() => expect(screen.getAllByTestId('tag-row')).toHaveLength(100));
    expect(screen.getByTestId('tags-total').textContent).toBe('250 tags');
    expect(t.requests.at(-1)?.path).toBe('/api/id-tags?limit=100&offset=0');

    await fireEvent.click(screen.getByTestId('next-page'));
    await waitFor(() => expect(t.requests.at(-1)?.path).toBe('/api/id-tags?limit=100&offset=100'));
    expect(screen.getByText('Page 2 of 3')).toBeTruthy();

    // A new search starts again from the first page.
    total = 0;
    const search = screen.getByTestId('tag-search') as HTMLInputElement;
    await fireEvent.input(search, { target: { value: 'van 3' } });
    await fireEvent.change(screen.getByTestId('tag-status-filter'), { target: { value: 'Blocked' } });
    await waitFor(() => expect(t.requests.at(-1)?.path).toBe('/api/id-tags?q=van+3&status=Blocked&limit=100&offset=0'));
    await waitFor(() => expect(screen.getByText('No tags match.')).toBeTruthy());
  });
});
