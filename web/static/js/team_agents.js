// The team's enabled agents' names (GET /api/team/agents), fetched once per page and
// again on demand: the assignee picker and @-mentions read the same list.

import { api } from "./api.js";

let names = null;

export function agentNames({ fresh = false } = {}) {
  if (!names || fresh) {
    names = api("/api/team/agents")
      .then((answer) => answer.agents.map((a) => a.name))
      .catch((error) => {
        names = null;
        throw error;
      });
  }
  return names;
}
