import { describe, expect, it } from 'vitest';

// (node:fs named at run time: the UI's type check knows no Node types.) vitest runs in ui/.
const fs = await import(/* @vite-ignore */ ['node', 'fs'].join(':'));
const files: string[] = fs.readdirSync('src', { recursive: true }).filter((f: string) => f.endsWith('.svelte')).map((f: string) => `src/${f}`);

describe('the look', () => {
  it('spaces things from one scale and colours them from one palette (so the dark theme reaches everything)', () => {
    expect(files.length).toBeGreaterThan(15);
    for (const file of files) {
      const css = [...(fs.readFileSync(file, 'utf8') as string).matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]).join('\n');
      const spacing = [...css.matchAll(/\b(?:gap|padding|margin)(?:-[a-z]+)?:\s*([^;]+);/g)].map((m) => m[1]).filter((v) => /\d*\.?\d+rem/.test(v));
      expect(spacing, file).toEqual([]);
      // The header keeps its brand colours in both themes; everything else uses the palette.
      const colours = css.split('\n').filter((l) => /#[0-9a-fA-F]{3,6}\b/.test(l) && !/--[\w-]+:|^\s*(header|nav a|\.count|\.status|\.dot|\.lang)\b/.test(l) && !/color: #fff\b/.test(l) && !/svg\)/.test(l));
      expect(colours, file).toEqual([]);
    }
  });
});
