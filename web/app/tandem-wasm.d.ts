// The types of the wasm-bindgen module (web/src/bindings.rs), for the type check of the page's
// JS: the build runs wasm-bindgen with --no-typescript, and this is the contract the page uses.

declare module "tandem-wasm" {
  /** One CodeMirror change in UTF-16 units of the text before the group. */
  export interface Change {
    from: number;
    to: number;
    insert: string;
  }
  /** Another user present in the document. */
  export interface Peer {
    clientId: number;
    name: string;
    color: string;
    anchor?: number;
    head?: number;
  }
  /** What one frame from the server did. */
  export interface Received {
    replies: Uint8Array[];
    changes: Change[][];
    presenceChanged: boolean;
    synced: boolean;
    confirmed: number;
    authDenied?: string;
    /** What the server lets this page do, once it has said so. */
    access?: "read-only" | "read-write";
    /** The document left this id (the server's `Gone` message). */
    gone?: { deleted?: boolean; renamedTo?: string };
  }
  /** An undo or redo step. */
  export interface Step {
    changes: Change[];
    frames: Uint8Array[];
  }
  export class WebClient {
    constructor(clientId: number, name: string, color: string);
    static restore(clientId: number, name: string, color: string, state: Uint8Array): WebClient;
    text(): string;
    offlineState(): Uint8Array;
    unconfirmedCount(): number;
    isSynced(): boolean;
    connect(): Uint8Array[];
    disconnect(): void;
    receive(frame: Uint8Array, now: number): Received;
    replace(from: number, to: number, text: string, now: number): Uint8Array[];
    undo(now: number): Step | undefined;
    redo(now: number): Step | undefined;
    endUndoStep(): void;
    setSelection(anchor: number, head: number, now: number): Uint8Array[];
    clearSelection(now: number): Uint8Array[];
    setUser(name: string, color: string, now: number): Uint8Array[];
    publishPresence(now: number): Uint8Array[];
    leave(now: number): Uint8Array[];
    expirePeers(now: number): boolean;
    peers(): Peer[];
  }
  export default function init(options: { module_or_path: string }): Promise<unknown>;
}
