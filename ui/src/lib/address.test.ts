import { describe, expect, it } from 'vitest';
import { isListenAddress } from './address';

describe('listen addresses', () => {
  it('takes an IP address and a port, as the engine reads them', () => {
    for (const ok of ['0.0.0.0:9000', '127.0.0.1:8180', ' 192.168.1.20:80 ', '[::1]:8180', '[::]:9000', '[fe80::1:2]:1']) expect(isListenAddress(ok), ok).toBe(true);
  });
  it('refuses host names, missing or impossible ports and octets', () => {
    for (const bad of ['localhost:9000', '0.0.0.0', '0.0.0.0:0', '0.0.0.0:65536', '256.1.1.1:80', '01.2.3.4:80', '::1:8180', '[::g]:80', ':9000', '']) expect(isListenAddress(bad), bad).toBe(false);
  });
});
