// A stock Yjs client (y-websocket's WebsocketProvider on node) for tandem's interop test.
//
// usage: node yjs-client.mjs SERVER_URL ROOM NAME EXPECT_MARKER [EXPECT_PEER]
//
// Connects, publishes awareness { user: { name: NAME } }, inserts a few edits and finally the
// marker "<NAME-done>", then waits until the text contains EXPECT_MARKER and a peer named
// EXPECT_PEER is present. Prints one JSON line: { ok, text, peers, error? } and exits.
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

const [serverUrl, room, name, expectMarker, expectPeer] = process.argv.slice(2)
const TIMEOUT_MS = 20000

const doc = new Y.Doc()
const text = doc.getText('content')
const provider = new WebsocketProvider(serverUrl, room, doc, {
  WebSocketPolyfill: WebSocket,
  disableBc: true
})

const peers = () =>
  [...provider.awareness.getStates().entries()]
    .filter(([id]) => id !== doc.clientID)
    .map(([, state]) => state?.user?.name)
    .filter(Boolean)

const finish = (ok, error) => {
  console.log(JSON.stringify({ ok, text: text.toString(), peers: peers(), error }))
  // destroy() announces our departure (awareness null) before closing.
  provider.destroy()
  setTimeout(() => process.exit(ok ? 0 : 1), 200)
}

const timer = setTimeout(() => finish(false, 'timed out'), TIMEOUT_MS)

const check = () => {
  if (text.toString().includes(expectMarker) && (!expectPeer || peers().includes(expectPeer))) {
    clearTimeout(timer)
    finish(true)
  }
}

provider.once('sync', (synced) => {
  if (!synced) return
  provider.awareness.setLocalStateField('user', { name, color: '#ee6352' })
  for (let i = 0; i < 5; i++) {
    // Insert at the start and at the end, interleaving with the other client's edits.
    text.insert(i % 2 === 0 ? 0 : text.length, `[${name} ${i}]`)
  }
  text.insert(text.length, `<${name}-done>`)
  text.observe(check)
  provider.awareness.on('change', check)
  check()
})
