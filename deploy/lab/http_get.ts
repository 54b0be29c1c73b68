/**
 * `deno run -A deploy/lab/http_get.ts URL`: prints the body of a GET (pretty-printed when it is
 * JSON). The lab runs it with `ip netns exec` to reach the agent's listener inside the node
 * namespace. Exit 1 with one line on stderr when the URL can't be fetched.
 * @module
 */
const url = Deno.args[0];
if (!url) {
  console.error("usage: http_get.ts URL");
  Deno.exit(2);
}
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = await res.text();
  let text = body;
  try {
    text = JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    // not JSON
  }
  console.log(`HTTP ${res.status}`);
  console.log(text);
} catch (e) {
  const chain: string[] = [];
  for (let c: unknown = e, i = 0; c !== undefined && i < 4; i++) {
    chain.push(c instanceof Error ? c.message : String(c));
    c = c instanceof Error ? c.cause : undefined;
  }
  console.error(`GET ${url}: ${chain.join(": ")}`);
  Deno.exit(1);
}
