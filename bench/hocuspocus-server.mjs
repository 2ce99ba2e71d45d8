// Hocuspocus (@hocuspocus/server, pinned in package.json) with its SQLite extension, as
// scripts/bench-server.sh and tandem-load's tests run it. Defaults of the library throughout
// (stores debounced 2 s, at most 10 s): the configuration a Hocuspocus user starts from.
//
//   HOST=127.0.0.1 PORT=1234 HOCUSPOCUS_DB=path.sqlite node hocuspocus-server.mjs
//
// HOCUSPOCUS_DB defaults to ":memory:" (nothing survives a restart).
import { Server } from "@hocuspocus/server";
import { SQLite } from "@hocuspocus/extension-sqlite";

const server = new Server({
  address: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 1234),
  quiet: true,
  extensions: [new SQLite({ database: process.env.HOCUSPOCUS_DB ?? ":memory:" })],
});
await server.listen();
console.log(`hocuspocus listening on ${process.env.HOST ?? "127.0.0.1"}:${process.env.PORT ?? 1234}`);
