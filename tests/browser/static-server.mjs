// A small static file server for the built app, as a plain web host would serve it:
// - byte ranges (206 + Content-Range), which the model loader relies on;
// - single-page-app fallback: a path whose last segment has no file extension (a route such as /gptoss) gets
//   index.html; a missing file with an extension is a 404, so a missing asset or model is never mistaken for HTML.
import { createServer } from "node:http";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

async function fileAt(path) {
  try {
    const info = await stat(path);
    return info.isFile() ? info : null;
  } catch {
    return null;
  }
}

/** Parses one `bytes=a-b` / `bytes=a-` / `bytes=-n` range against `size`; null when unsatisfiable. */
export function parseRange(header, size) {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  let start, end;
  if (m[1] === "") {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  return start <= end && start < size ? { start, end } : null;
}

/**
 * A ranged answer broken as `ranges.fault` says: "wrong-content-range" (one byte off), "no-content-range", "416",
 * "503-once" (a 503), or "reset-once" (a proper 206 whose connection is reset half way through its body); only
 * ranges starting at byte `ranges.from` or later are broken. After a "-once" fault `ranges.fault` and `ranges.from`
 * become `ranges.then` and `ranges.thenFrom` (null and 0 if unset).
 */
function faulty(res, ranges, headers, r, size, file) {
  const { fault } = ranges;
  const length = { "Content-Length": 0 };
  if (fault.endsWith("-once")) {
    [ranges.fault, ranges.from] = [ranges.then ?? null, ranges.thenFrom ?? 0];
    [ranges.then, ranges.thenFrom] = [null, 0];
  }
  if (fault === "503-once") return res.writeHead(503, { ...headers, ...length }).end();
  if (fault === "reset-once") {
    const half = Math.floor((r.end - r.start + 1) / 2);
    res.writeHead(206, { ...headers, "Content-Range": `bytes ${r.start}-${r.end}/${size}`, "Content-Length": r.end - r.start + 1 });
    return pipeWithin(createReadStream(file, r), res, { budget: half });
  }
  if (fault === "416") return res.writeHead(416, { ...headers, ...length, "Content-Range": `bytes */${size}` }).end();
  const range = fault === "wrong-content-range" ? { "Content-Range": `bytes ${r.start + 1}-${r.end + 1}/${size}` } : {};
  res.writeHead(206, { ...headers, ...range, ...length }).end();
}

/** Pipes `stream` to `res` until `ranges.budget` body bytes are spent, then drops the connection. */
function pipeWithin(stream, res, ranges) {
  stream.on("data", (chunk) => {
    const take = Math.min(chunk.length, ranges.budget);
    ranges.budget -= take;
    if (take > 0) res.write(chunk.subarray(0, take));
    if (take < chunk.length) {
      stream.destroy();
      res.destroy();
    }
  });
  stream.on("end", () => res.end());
}

/** Pipes `stream` to `res` at `ranges.rate` bytes a second while that is set (read at every chunk), then at full speed. */
function pipeThrottled(stream, res, ranges) {
  stream.on("data", (chunk) => {
    res.write(chunk);
    if (!ranges.rate) return;
    stream.pause();
    setTimeout(() => stream.resume(), (chunk.length / ranges.rate) * 1000);
  });
  stream.on("end", () => res.end());
}

/**
 * Serves `root` on 127.0.0.1 at a free port; resolves to { url, close }. With `ranges`, every ranged request is
 * logged in `ranges.seen` ({ path, start, end }), and a numeric `ranges.budget` caps the range body bytes the
 * server still sends: past it, connections are dropped (a network that goes away mid-load). With `ranges.ignore`
 * set it answers every GET 200 with the whole file, as Python's http.server does, logging each in `ranges.whole`;
 * with `ranges.fault` it breaks every ranged answer for a .gguf file (see `faulty`); with `ranges.rate` each range
 * starting at byte `ranges.rateFrom` or later is sent at that many bytes a second (a slow server). `extra` maps
 * more paths to files outside `root` (a file a test writes), served the same way.
 */
export async function startStaticServer(root, { ranges, extra = {} } = {}) {
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file = extra[path] ?? normalize(join(base, path));
    if (!extra[path] && file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403).end();
      return;
    }
    let info = await fileAt(file);
    if (!info && (path.endsWith("/") || extname(path) === "")) {
      const index = path.endsWith("/") ? join(file, "index.html") : null;
      file = index && (await fileAt(index)) ? index : join(base, "index.html");
      info = await fileAt(file);
    }
    if (!info) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end(`not found: ${path}\n`);
      return;
    }
    const headers = {
      "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
      "Accept-Ranges": "bytes",
      "Cache-Control": "no-cache",
      ETag: `"${info.size}-${Math.round(info.mtimeMs)}"`,
      "Last-Modified": info.mtime.toUTCString(),
    };
    const range = req.headers.range;
    // `ranges.ignore`: answer as Python's http.server does, 200 with the whole file whatever the Range header.
    if (ranges?.ignore) delete headers["Accept-Ranges"];
    if (range && !ranges?.ignore) {
      const r = parseRange(range, info.size);
      if (!r) {
        res.writeHead(416, { ...headers, "Content-Range": `bytes */${info.size}` }).end();
        return;
      }
      if (ranges?.fault && req.method !== "HEAD" && extname(file) === ".gguf" && r.start >= (ranges.from ?? 0)) {
        ranges.seen.push({ path, start: r.start, end: r.end, fault: ranges.fault });
        return faulty(res, ranges, headers, r, info.size, file);
      }
      res.writeHead(206, {
        ...headers,
        "Content-Range": `bytes ${r.start}-${r.end}/${info.size}`,
        "Content-Length": r.end - r.start + 1,
      });
      if (req.method === "HEAD") return res.end();
      ranges?.seen.push({ path, start: r.start, end: r.end });
      if (typeof ranges?.budget === "number") pipeWithin(createReadStream(file, r), res, ranges);
      else if (ranges?.rate && r.start >= (ranges.rateFrom ?? 0)) pipeThrottled(createReadStream(file, r), res, ranges);
      else createReadStream(file, r).pipe(res);
      return;
    }
    res.writeHead(200, { ...headers, "Content-Length": info.size });
    if (req.method === "HEAD") return res.end();
    if (ranges?.ignore) ranges.whole.push({ path, range });
    createReadStream(file).pipe(res);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((ok) => server.close(ok)),
  };
}
