/** The connection retry's backoff (db/connect.ts): exponential with jitter, from an injected random source. */
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/db/connect.js';

/** A fixed sequence standing in for Math.random. */
const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

describe('retryDelayMs', () => {
  it('the same attempt gets different delays from different random draws', () => {
    const random = sequence(0, 0.25, 0.5, 0.75, 0.999);
    const delays = Array.from({ length: 5 }, () => retryDelayMs(2, random));
    expect(new Set(delays).size).toBe(5);
    expect(delays).toEqual([500, 625, 750, 875, 1000]);
  });

  it('stays within the upper half of the exponential ceiling (250 ms doubling, at most 4 s)', () => {
    const ceilings = [250, 500, 1000, 2000, 4000, 4000, 4000];
    ceilings.forEach((ceiling, attempt) => {
      expect(retryDelayMs(attempt, () => 0)).toBe(ceiling / 2);
      expect(retryDelayMs(attempt, () => 0.9999)).toBeLessThanOrEqual(ceiling);
      expect(retryDelayMs(attempt, () => 0.9999)).toBeGreaterThan(ceiling * 0.99);
    });
  });

  it('uses Math.random by default: many draws are not all equal', () => {
    expect(new Set(Array.from({ length: 20 }, () => retryDelayMs(4))).size).toBeGreaterThan(1);
  });
});
