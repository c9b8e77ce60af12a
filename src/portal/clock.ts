// Time is passed in (a `now` function in ms) wherever an expiry or an age is decided, so tests can move it.
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;
