// The reconnect delay: full jitter between the floor and an exponentially growing ceiling.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay } from '../relay-client.js';

test('the bounds double with each attempt up to the maximum', () => {
  const min = 500, max = 30000;
  const ceilings = [1000, 2000, 4000, 8000, 16000, 30000, 30000];
  ceilings.forEach((ceiling, attempt) => {
    assert.equal(backoffDelay(attempt, min, max, () => 0), min, `attempt ${attempt}: the floor`);
    assert.equal(backoffDelay(attempt, min, max, () => 0.999999), ceiling, `attempt ${attempt}: the ceiling`);
  });
  assert.equal(backoffDelay(1000, min, max, () => 0.999999), max, 'no overflow past the maximum');
  assert.equal(backoffDelay(Infinity, min, max, () => 0.5), 15250);
});

test('a maximum below the minimum gives the minimum', () => {
  assert.equal(backoffDelay(3, 800, 100, () => 0.7), 800);
});

test('delays are spread over the whole range (Math.random)', () => {
  for (const attempt of [0, 2, 6]) {
    const ceiling = Math.min(5000, 200 * 2 ** (attempt + 1));
    const samples = Array.from({ length: 2000 }, () => backoffDelay(attempt, 200, 5000));
    assert.ok(samples.every((delay) => Number.isInteger(delay) && delay >= 200 && delay <= ceiling),
      `attempt ${attempt}: every delay within [200, ${ceiling}]`);
    // Ten equal buckets of the range: each holds a tenth give or take, so no two clients
    // dropped together are bound to come back together.
    const buckets = new Array(10).fill(0);
    for (const delay of samples) buckets[Math.min(9, Math.floor(((delay - 200) / (ceiling - 200)) * 10))] += 1;
    assert.ok(buckets.every((count) => count > 120 && count < 290), `attempt ${attempt}: buckets ${buckets}`);
  }
});
