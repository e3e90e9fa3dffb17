/**
 * Test, fixture, variant and XFAIL registration (the constructor-time half of
 * kselftest_harness.h).
 *
 * C registers from `__attribute__((constructor))` functions; here the
 * definitions are ordinary calls made while the test module loads. The order
 * is the C run order: the `global` fixture first, then fixtures in the order
 * they were declared; inside a fixture, variants and tests in declaration
 * order.
 */
import { constants } from 'node:os';

/** A value or a promise of it: test bodies, setups and teardowns may be async. */
export type Awaitable<T> = T | Promise<T>;

/** A signal by name (`'SIGUSR2'`) or number. */
export type SignalSpec = NodeJS.Signals | number;

/** `TEST_TIMEOUT_DEFAULT` */
export const TEST_TIMEOUT_DEFAULT = 30;

/** A fixture's setup, teardown or TEST_F body: (self, variant). */
export type FixtureFn<Self, Variant> = (self: Self, variant: Variant) => Awaitable<void>;

export interface TestDef {
  readonly name: string;
  readonly fixture: FixtureDef;
  /** -1 when the test must end normally; otherwise the signal that passes it. */
  readonly termsig: number;
  readonly timeout: number;
  readonly fn: FixtureFn<object, unknown>;
}

export interface VariantDef {
  readonly name: string;
  readonly data: unknown;
  /** Tests of this variant that are expected to fail (XFAIL_ADD). */
  readonly xfails: Set<TestDef>;
}

export interface FixtureDef {
  readonly name: string;
  /** Fresh fixture data for one test (C zero-fills `self`). */
  readonly init: () => object;
  readonly tests: TestDef[];
  readonly variants: VariantDef[];
  setup: FixtureFn<object, unknown> | undefined;
  teardown: FixtureFn<object, unknown> | undefined;
  /** FIXTURE_TEARDOWN_PARENT: teardown runs outside the test process. */
  teardownParent: boolean;
  /** false for `global`, whose TEST()s have no setup, teardown or self. */
  readonly isFixture: boolean;
}

/**
 * The typed handle FIXTURE() returns; TEST_F() and friends take it. `Self`
 * is the FIXTURE() struct, `Variant` the FIXTURE_VARIANT() struct.
 */
export interface Fixture<Self extends object, Variant> {
  readonly name: string;
  /** Phantom field carrying the types; never set. */
  readonly __types?: { self: Self; variant: Variant };
}

const globalFixture: FixtureDef = {
  name: 'global',
  init: () => ({}),
  tests: [],
  variants: [],
  setup: undefined,
  teardown: undefined,
  teardownParent: false,
  isFixture: false,
};

const fixtures: FixtureDef[] = [globalFixture];
const byHandle = new WeakMap<object, FixtureDef>();

export function allFixtures(): readonly FixtureDef[] {
  return fixtures;
}

function misuse(what: string): never {
  throw new Error(`kselftest_harness: ${what}`);
}

function defOf(fixture: Fixture<object, unknown>, macro: string): FixtureDef {
  const def = byHandle.get(fixture);
  if (!def) misuse(`${macro}: not a FIXTURE() handle`);
  return def;
}

function checkName(name: string, macro: string): void {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    misuse(`${macro}: name ${JSON.stringify(name)} is not a C identifier`);
}

export function signalNumber(sig: SignalSpec, macro: string): number {
  if (typeof sig === 'number') {
    if (!Number.isInteger(sig) || sig <= 0 || sig > 64) misuse(`${macro}: bad signal number ${sig}`);
    return sig;
  }
  const n = (constants.signals as Record<string, number | undefined>)[sig];
  if (n === undefined) misuse(`${macro}: unknown signal ${JSON.stringify(sig)}`);
  return n;
}

function addTest(def: FixtureDef, name: string, termsig: number, timeout: number, fn: FixtureFn<object, unknown>, macro: string): void {
  checkName(name, macro);
  if (typeof fn !== 'function') misuse(`${macro}(${name}): the test body must be a function`);
  if (!Number.isInteger(timeout) || timeout <= 0) misuse(`${macro}(${name}): timeout must be a positive whole number of seconds, got ${timeout}`);
  if (def.tests.some((t) => t.name === name)) misuse(`${macro}: fixture '${def.name}' already has a test '${name}'`);
  def.tests.push({ name, fixture: def, termsig, timeout, fn });
}

/** TEST(name): a test of the `global` fixture, named `global.name`. */
export function TEST(name: string, fn: () => Awaitable<void>): void {
  addTest(globalFixture, name, -1, TEST_TIMEOUT_DEFAULT, fn, 'TEST');
}

/** TEST_SIGNAL(name, signal): passes only if the test process dies by `signal`. */
export function TEST_SIGNAL(name: string, signal: SignalSpec, fn: () => Awaitable<void>): void {
  addTest(globalFixture, name, signalNumber(signal, 'TEST_SIGNAL'), TEST_TIMEOUT_DEFAULT, fn, 'TEST_SIGNAL');
}

/**
 * FIXTURE(name) {fields}: `init` returns the fresh fixture data (`self`) for
 * each test (default: none; C zero-fills `self`). The variant type is the
 * FIXTURE_VARIANT() struct; a fixture without FIXTURE_VARIANT_ADD() runs its
 * tests once with `variant` undefined. State that only setup can make (a VM,
 * an fd) is better returned by FIXTURE_SETUP() than given a placeholder here.
 */
export function FIXTURE<Self extends object = Record<never, never>, Variant = undefined>(
  name: string,
  init: () => Self = () => ({}) as Self,
): Fixture<Self, Variant> {
  checkName(name, 'FIXTURE');
  if (fixtures.some((f) => f.name === name)) misuse(`FIXTURE: '${name}' is already defined`);
  const def: FixtureDef = {
    name,
    init,
    tests: [],
    variants: [],
    setup: undefined,
    teardown: undefined,
    teardownParent: false,
    isFixture: true,
  };
  fixtures.push(def);
  const handle: Fixture<Self, Variant> = Object.freeze({ name });
  byHandle.set(handle, def);
  return handle;
}

/**
 * FIXTURE_SETUP(fixture): runs before each of the fixture's tests, in the
 * test's process; a failed ASSERT there skips the test body and the
 * teardown, and so does a SKIP() or a failed EXPECT.
 *
 * The setup may fill `self` as C's does, or return the state it made: the
 * returned object's fields are put into `self` before the body runs, and
 * the handle FIXTURE_SETUP() returns knows their types. Since neither the
 * body nor the teardown runs unless the setup finished, they see those
 * fields set, with no placeholder in FIXTURE() and no `self.vm!`.
 *
 * @example
 * ```ts
 * const gmem = FIXTURE_SETUP(FIXTURE('gmem'), () => {
 *   const vm = vmCreateBarebones();
 *   return { vm, fd: vmCreateGuestMemfd(vm, 4096, 0) };
 * });
 * FIXTURE_TEARDOWN(gmem, (self) => { kvmClose(self.fd); kvmVmFree(self.vm); });
 * TEST_F(gmem, 'punch', (self) => {
 *   ASSERT_EQ(fallocate(self.fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, 4096).ret, 0);
 * });
 * await TEST_HARNESS_MAIN();
 * ```
 */
export function FIXTURE_SETUP<Self extends object, Variant, State extends object>(
  fixture: Fixture<Self, Variant>,
  fn: (self: Self, variant: Variant) => Awaitable<State>,
): Fixture<Self & State, Variant>;
export function FIXTURE_SETUP<Self extends object, Variant>(fixture: Fixture<Self, Variant>, fn: FixtureFn<Self, Variant>): Fixture<Self, Variant>;
export function FIXTURE_SETUP<Self extends object, Variant>(
  fixture: Fixture<Self, Variant>,
  fn: (self: Self, variant: Variant) => Awaitable<unknown>,
): Fixture<object, Variant> {
  const def = defOf(fixture, 'FIXTURE_SETUP');
  if (def.setup) misuse(`FIXTURE_SETUP: '${def.name}' already has a setup`);
  def.setup = async (self, variant) => {
    const state = await fn(self as Self, variant as Variant);
    if (typeof state === 'object' && state !== null && state !== self) Object.assign(self, state);
  };
  // The same handle: TEST_F() finds the fixture by it, whichever type it is seen with.
  return fixture;
}

/** FIXTURE_TEARDOWN(fixture): runs once after each test that got through setup, also after a failed ASSERT in the body. */
export function FIXTURE_TEARDOWN<Self extends object, Variant>(fixture: Fixture<Self, Variant>, fn: FixtureFn<Self, Variant>): void {
  const def = defOf(fixture, 'FIXTURE_TEARDOWN');
  if (def.teardown) misuse(`FIXTURE_TEARDOWN: '${def.name}' already has a teardown`);
  def.teardown = fn as FixtureFn<object, unknown>;
  def.teardownParent = false;
}

/**
 * FIXTURE_TEARDOWN_PARENT: the teardown runs in the harness process after
 * the test process has ended, so the test may give up privileges the
 * teardown needs. C shares `self` with MAP_SHARED; here the test process
 * hands over a structured-clone copy of `self` (node:v8 serialize) after
 * setup, after the test and when it exits, so `self` must hold cloneable
 * data.
 */
export function FIXTURE_TEARDOWN_PARENT<Self extends object, Variant>(fixture: Fixture<Self, Variant>, fn: FixtureFn<Self, Variant>): void {
  const def = defOf(fixture, 'FIXTURE_TEARDOWN_PARENT');
  if (def.teardown) misuse(`FIXTURE_TEARDOWN_PARENT: '${def.name}' already has a teardown`);
  def.teardown = fn as FixtureFn<object, unknown>;
  def.teardownParent = true;
}

/** FIXTURE_VARIANT_ADD(fixture, name) {.field = ..}: every test of the fixture runs once per variant. */
export function FIXTURE_VARIANT_ADD<Self extends object, Variant>(fixture: Fixture<Self, Variant>, name: string, data: Variant): void {
  const def = defOf(fixture, 'FIXTURE_VARIANT_ADD');
  checkName(name, 'FIXTURE_VARIANT_ADD');
  if (def.variants.some((v) => v.name === name)) misuse(`FIXTURE_VARIANT_ADD: fixture '${def.name}' already has a variant '${name}'`);
  def.variants.push({ name, data, xfails: new Set() });
}

/**
 * TEST_F(fixture, name): a test of the fixture, run once per variant as `fixture.variant.name`.
 *
 * @example
 * ```ts
 * interface Self { fd: number }
 * const gmem = FIXTURE<Self, { size: number }>('gmem', () => ({ fd: -1 }));
 * FIXTURE_VARIANT_ADD(gmem, 'one_page', { size: 4096 });
 * FIXTURE_SETUP(gmem, (self, v) => { self.fd = vmCreateGuestMemfd(vmCreateBarebones(), v.size, 0); });
 * FIXTURE_TEARDOWN(gmem, (self) => { kvmClose(self.fd); });
 * TEST_F(gmem, 'punch', (self, v) => {
 *   ASSERT_EQ(fallocate(self.fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, v.size).ret, 0);
 * });
 * await TEST_HARNESS_MAIN();
 * ```
 */
export function TEST_F<Self extends object, Variant>(fixture: Fixture<Self, Variant>, name: string, fn: FixtureFn<Self, Variant>): void {
  addTest(defOf(fixture, 'TEST_F'), name, -1, TEST_TIMEOUT_DEFAULT, fn as FixtureFn<object, unknown>, 'TEST_F');
}

/** TEST_F_SIGNAL(fixture, name, signal): a TEST_F that passes only when the test process dies of `signal`. */
export function TEST_F_SIGNAL<Self extends object, Variant>(
  fixture: Fixture<Self, Variant>,
  name: string,
  signal: SignalSpec,
  fn: FixtureFn<Self, Variant>,
): void {
  addTest(defOf(fixture, 'TEST_F_SIGNAL'), name, signalNumber(signal, 'TEST_F_SIGNAL'), TEST_TIMEOUT_DEFAULT, fn as FixtureFn<object, unknown>, 'TEST_F_SIGNAL');
}

/** TEST_F_TIMEOUT(fixture, name, seconds): like TEST_F with its own timeout. */
export function TEST_F_TIMEOUT<Self extends object, Variant>(
  fixture: Fixture<Self, Variant>,
  name: string,
  timeout: number,
  fn: FixtureFn<Self, Variant>,
): void {
  addTest(defOf(fixture, 'TEST_F_TIMEOUT'), name, -1, timeout, fn as FixtureFn<object, unknown>, 'TEST_F_TIMEOUT');
}

/**
 * XFAIL_ADD(fixture, variant, test): that combination is expected to fail; a
 * failure reports XFAIL and a pass XPASS. Like the C macro, the variant and
 * the test must already be defined.
 */
export function XFAIL_ADD<Self extends object, Variant>(fixture: Fixture<Self, Variant>, variant: string, test: string): void {
  const def = defOf(fixture, 'XFAIL_ADD');
  const v = def.variants.find((x) => x.name === variant);
  if (!v) misuse(`XFAIL_ADD: fixture '${def.name}' has no variant '${variant}'`);
  const t = def.tests.find((x) => x.name === test);
  if (!t) misuse(`XFAIL_ADD: fixture '${def.name}' has no test '${test}'`);
  v.xfails.add(t);
}
