// Settings every test server starts with unless its test says otherwise. Load shedding answers 503 when the event
// loop lags or requests queue: on CI's shared two cores, with both database suites running side by side, that
// happens to servers whose tests are not about load at all. The overload tests set their own thresholds.
export const TEST_SERVER_ENV: Readonly<Record<string, string>> = Object.freeze({
  OVERLOAD_EVENT_LOOP_DELAY_MS: '0',
  OVERLOAD_QUEUE_MS: '0',
});
