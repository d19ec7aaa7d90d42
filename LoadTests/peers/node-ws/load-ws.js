// Loads the `ws` library: from NODE_PATH or a node_modules folder if there is one, else from where
// Debian's package node-ws puts it (the npm registry is not reachable here, and the installed node,
// NodeSource's build, does not look in /usr/share/nodejs by itself).
'use strict';

function load() {
  for (const name of ['ws', '/usr/share/nodejs/ws']) {
    try {
      return require(name);
    } catch (error) {
      if (error.code !== 'MODULE_NOT_FOUND') throw error;
    }
  }
  console.error('node-ws peer: the `ws` module is missing; install it with `apt-get install -y node-ws` ' +
    '(or run LoadTests/peers/install.sh)');
  process.exit(2);
}

module.exports = load();
