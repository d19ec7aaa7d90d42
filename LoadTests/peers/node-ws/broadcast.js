// Broadcast peer on Node's `ws`, for load tests next to `relay echo --broadcast`.
// Every message from any client goes to every connected client, its sender included: ws's own
// broadcast idiom, a walk over wss.clients sending the same data to each open one.
// No compression, no pings during a run, loopback only.
// usage: node broadcast.js PORT
'use strict';

const { WebSocket, WebSocketServer } = require('./load-ws');

const port = Number(process.argv[2]);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 2 ** 24 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    }
  });
});
