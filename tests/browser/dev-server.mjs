// A stand-in server for developing and testing the page without tandem-server: it serves
// web/dist like tandem-server's --web-dir (index.html for / and /d/*), answers GET /api/docs, and
// runs the stock y-websocket server on ws://HOST/DOC-ID. It also shows that the page works with a
// stock Yjs server (which ignores tandem's ?ext=durable and never confirms durability).
//
//   node dev-server.mjs [--port 0] [--dist ../../web/dist]
// Prints "listening on http://127.0.0.1:PORT" once ready.

import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { setupWSConnection, docs } = require("y-websocket/bin/utils");

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const port = Number(option("--port", "0"));
const dist = path.resolve(option("--dist", path.join(here, "../../web/dist")));

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
};

const server = http.createServer((request, response) => {
  const url = new URL(request.url, "http://localhost");
  if (url.pathname === "/api/docs") {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ docs: [...docs.keys()].map((id) => ({ id })) }));
    return;
  }
  const relative = url.pathname === "/" || url.pathname.startsWith("/d/") ? "index.html" : url.pathname.slice(1);
  const file = path.join(dist, relative);
  if (!file.startsWith(dist + path.sep) || !fs.existsSync(file)) {
    response.writeHead(404);
    response.end("not found");
    return;
  }
  response.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" });
  fs.createReadStream(file).pipe(response);
});

const sockets = new WebSocketServer({ noServer: true });
server.on("upgrade", (request, socket, head) => {
  sockets.handleUpgrade(request, socket, head, (ws) => {
    const docName = decodeURIComponent(new URL(request.url, "http://localhost").pathname.slice(1));
    setupWSConnection(ws, request, { docName, gc: true });
  });
});

server.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
