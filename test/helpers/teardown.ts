/** The part of a tap Test the helpers need: lets them be used with any tap test object. */
export interface TeardownHost {
  teardown(fn: () => unknown): void;
}
