import type { Principal } from "../contracts/http.js";
import type { Loaders } from "./loaders.js";

/** What every resolver gets: who is calling, and this request's batching loaders. */
export interface ApiContext {
  principal: Principal;
  loaders: Loaders;
}
