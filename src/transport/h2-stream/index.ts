export { H2Connection } from './h2-connection.js';
export { BidiCall, type MessageCodec } from './bidi-call.js';
export { StreamCallError } from './call-error.js';
export { INSECURE, type StreamSecurity } from './stream-security.js';
