// ussd-menu-builder behind express with a Redis session store: the bench's
// 3-screen peer journey (menu -> quantity checked by a regex -> end).
// Bench-only, installed by bench/peers/install.sh under bench/.peers/node.
// One UssdMenu per request: the library keeps the request's state on the
// instance, so a shared one would mix concurrent sessions.
// Node runs JavaScript on one thread: to give it the 2 cores gunicorn's 2
// workers get, the primary forks WEB_CONCURRENCY (default 2) workers with
// Node's cluster module; it accepts the connections and hands them out in
// turn (round robin, Node's default on Linux). Each worker has its own
// Redis client. Reads PORT and BENCH_REDIS_URL.
const cluster = require("cluster");
const path = require("path");
const modules = path.join(__dirname, "..", ".peers", "node", "node_modules");
const express = require(path.join(modules, "express"));
const UssdMenu = require(path.join(modules, "ussd-menu-builder"));
const { createClient } = require(path.join(modules, "redis"));

let redis = null; // the worker's client, connected before it listens
const TTL = 180; // seconds, as Isoko's sessions

function sessions() {
  const key = (id) => `mb:s:${id}`;
  return {
    start: (id) => Promise.resolve(),
    end: (id) => redis.del(key(id)),
    set: (id, field, value) => redis.multi().hSet(key(id), field, String(value)).expire(key(id), TTL).exec(),
    get: (id, field) => redis.hGet(key(id), field),
  };
}

function buildMenu() {
  const menu = new UssdMenu();
  menu.sessionConfig(sessions());
  menu.startState({
    run: () => menu.con("Isoko bench\n1. Sell\n2. Buy"),
    next: { "1": "quantity", "2": "quantity" },
  });
  menu.state("quantity", {
    run: () => menu.con("Quantity in kg"),
    next: { "*^[0-9]{1,4}$": "done" },
    defaultNext: "quantity",
  });
  menu.state("done", {
    run: async () => {
      await menu.session.set("quantity", menu.val);
      menu.end(`Thank you, ${menu.val} kg`);
    },
  });
  return menu;
}

function serve() {
  redis = createClient({ url: process.env.BENCH_REDIS_URL });
  const app = express();
  const worker = String(process.pid);
  app.use(express.urlencoded({ extended: false }));
  app.post("/at/ussd", (req, res) => {
    // X-Worker as the floor's: which process answered.
    buildMenu().run(req.body, (reply) => res.set("X-Worker", worker).type("text/plain").send(reply));
  });
  redis.connect().then(() => app.listen(Number(process.env.PORT), "127.0.0.1"));
}

if (cluster.isPrimary) {
  const workers = Number(process.env.WEB_CONCURRENCY || 2);
  for (let i = 0; i < workers; i++) cluster.fork();
  // A worker that dies is not replaced: the bench would count a restart as
  // throughput; its wrk run then reports the errors.
  const stop = () => {
    for (const w of Object.values(cluster.workers)) w.process.kill("SIGTERM");
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} else {
  serve();
}
