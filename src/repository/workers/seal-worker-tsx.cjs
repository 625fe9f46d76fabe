// Entry of the sealing workers when Lifeboat runs from its TypeScript sources
// (the test runner): CommonJS, importing the tsx loader asynchronously, for the
// reason given in seal-worker-entry.cts.
module.exports = import('./seal-worker-tsx.mjs').then((m) => m.default);
