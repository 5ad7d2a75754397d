// Mocha root hooks, loaded for every run through .mocharc.json (`require`). Support modules
// register their teardown here instead of being imported by this file, so that a run that
// never needs them (parser units) does not pay for loading them.
type Teardown = () => Promise<void> | void;

const teardowns: Teardown[] = [];

/** Runs `fn` once after all tests, latest registered first. */
export function registerTeardown(fn: Teardown): void {
  teardowns.push(fn);
}

export const mochaHooks = {
  async afterAll(): Promise<void> {
    while (teardowns.length > 0) {
      const fn = teardowns.pop();
      try {
        await fn?.();
      } catch (err) {
        console.error('test teardown failed:', err);
      }
    }
  },
};
