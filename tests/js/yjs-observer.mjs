// Stock Yjs replicas (y-websocket's WebsocketProvider on node) that tandem's differential fuzz
// test asks for their text.
//
// usage: node yjs-observer.mjs SERVER_URL
//
// Reads one command per line on stdin and answers each with one JSON line on stdout:
//   join ROOM    connect a replica to ROOM and keep it     -> { ok, text }   once synced
//   text ROOM    the kept replica's text                   -> { ok, text }
//   fresh ROOM   connect a new replica, read it, close it  -> { ok, text }   once synced
// Every answer also carries `errors`: how many Yjs errors were logged so far (y-websocket logs
// "Caught error while handling a Yjs update" when an update does not apply).
import readline from 'node:readline'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

const serverUrl = process.argv[2]
const TIMEOUT_MS = 10000
let errors = 0
// Every provider adds an exit listener to the process and the test keeps one per room: past
// ten, node warns on stderr, which would count as an error below.
process.setMaxListeners(0)
const consoleError = console.error
console.error = (...args) => {
  errors += 1
  consoleError(...args)
}

const kept = new Map()

const connect = (room) =>
  new Promise((resolve, reject) => {
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(serverUrl, room, doc, {
      WebSocketPolyfill: WebSocket,
      disableBc: true
    })
    const timer = setTimeout(() => reject(new Error(`no sync on ${room}`)), TIMEOUT_MS)
    provider.once('sync', () => {
      clearTimeout(timer)
      resolve({ doc, provider })
    })
  })

const answer = (fields) => console.log(JSON.stringify({ errors, ...fields }))

const handle = async (line) => {
  const [command, room] = line.trim().split(/\s+/)
  if (command === 'join') {
    const replica = await connect(room)
    kept.set(room, replica)
    return { ok: true, text: replica.doc.getText('content').toString() }
  }
  if (command === 'text') {
    const replica = kept.get(room)
    if (!replica) return { ok: false, error: `not joined: ${room}` }
    return { ok: true, text: replica.doc.getText('content').toString() }
  }
  if (command === 'fresh') {
    const { doc, provider } = await connect(room)
    const text = doc.getText('content').toString()
    provider.destroy()
    return { ok: true, text }
  }
  return { ok: false, error: `unknown command: ${line}` }
}

// One command at a time, in order.
let queue = Promise.resolve()
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  queue = queue.then(() => handle(line).then(answer, (e) => answer({ ok: false, error: String(e) })))
})
process.stdin.on('end', () => {
  queue.then(() => {
    for (const { provider } of kept.values()) provider.destroy()
    setTimeout(() => process.exit(0), 100)
  })
})
