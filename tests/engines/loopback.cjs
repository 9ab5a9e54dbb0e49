// Preloaded into Comunica's endpoint (NODE_OPTIONS=--require): it calls server.listen(port),
// which listens on every interface; a port alone is bound to the loopback address instead.
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" && (args.length === 1 || typeof args[1] === "function")) {
    args.splice(1, 0, "127.0.0.1");
  }
  return listen.apply(this, args);
};
