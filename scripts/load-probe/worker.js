// The load probe in a worker, where the app's engine runs (see index.html).
importScripts("probe.js");
onmessage = async (e) => postMessage(await probe(e.data.url, e.data.size, e.data.cases));
