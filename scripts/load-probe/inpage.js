// The load probe's range reads run inside another page (the app's, idle or after its benchmark), to tell whether
// the page or the engine's code is what slows its reads: `window.__inpageProbe(url, mib)` resolves to the figures.
window.__inpageProbe = async (url, mib) => {
  const cases = { fetch: [["arrayBuffer", 8, 4], ["reader", 8, 4], ["arrayBuffer", 8, 8], ["arrayBuffer", 32, 4]], write: [], mapped: [] };
  return probe(url, mib * (1 << 20), cases);
};
