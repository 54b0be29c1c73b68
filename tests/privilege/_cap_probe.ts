/** Prints the process's capability sets (hex) and hasCapability(CAP_NET_ADMIN) as JSON. */
import { CAP_NET_ADMIN, hasCapability, processCapabilities } from "../../ffi/mod.ts";

const sets = processCapabilities();
console.log(JSON.stringify({
  effective: sets.effective.toString(16),
  permitted: sets.permitted.toString(16),
  inheritable: sets.inheritable.toString(16),
  netAdmin: hasCapability(CAP_NET_ADMIN),
}));
