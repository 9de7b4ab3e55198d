import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { createSettingsService, defaultSettings } from '../../src/domain/settings.ts';
import { createMemorySettingsStore } from '../../src/stores/memory/settings.ts';

function twoNodes() {
  const store = createMemorySettingsStore();
  const clock = createManualClock();
  const listeners: (() => void)[] = [];
  let delivered = true;
  const node = () =>
    createSettingsService({
      store,
      clock,
      notify: async () => {
        if (delivered) listeners.forEach((l) => l());
      },
      onChanged: (l) => void listeners.push(l),
    });
  return { a: node(), b: node(), clock, loseMessages: () => (delivered = false) };
}

describe('settings service', () => {
  it('answers the defaults until something is changed', async () => {
    const { a } = twoNodes();
    assert.deepEqual(await a.get(), defaultSettings);
  });

  it('a change on one node is seen by the other at once when the message arrives', async () => {
    const { a, b } = twoNodes();
    await b.get();
    await a.update({ enabled: false });
    assert.equal((await b.get()).enabled, false);
    assert.equal((await a.get()).enabled, false);
  });

  it('without the message, the other node sees the change once its copy expires (3 s)', async () => {
    const { a, b, clock, loseMessages } = twoNodes();
    loseMessages();
    await b.get();
    await a.update({ skewSteps: 4 });
    clock.advance(2_999);
    assert.equal((await b.get()).skewSteps, 1, 'still the cached copy');
    clock.advance(1);
    assert.equal((await b.get()).skewSteps, 4);
  });
});
