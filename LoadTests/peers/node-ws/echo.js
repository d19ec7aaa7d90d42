// Echo peer on Node's `ws`, for load tests next to `relay echo`.
// Every message goes back to its sender, text as text, binary as binary.
// No compression, no pings during a run, loopback only.
// usage: node echo.js PORT
'use strict';

const { WebSocketServer } = require('./load-ws');

const port = Number(process.argv[2]);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 2 ** 24 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
