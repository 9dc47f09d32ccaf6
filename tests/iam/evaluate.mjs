// Reads {"simulations": [Simulation, ...]} on stdin and prints one decision per simulation, in order:
// {"result": "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied" | "Error", "grants": [...], "errors": ...}.
// The simulations are @cloud-copilot/iam-simulate's own input; its validation (actions, resource types,
// condition keys) turns an invalid policy or request into "Error", never into an allow.
import { getGrantReasons, runSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const { simulations } = JSON.parse(Buffer.concat(chunks).toString('utf8'))

const decisions = []
for (const simulation of simulations) {
  const response = await runSimulation(simulation, { simulationMode: 'Strict' })
  if (response.resultType === 'error') {
    decisions.push({ result: 'Error', errors: response.errors })
    continue
  }
  const results = response.resultType === 'single' ? [response.result] : response.results
  const grants = results.flatMap((r) => (r.analysis ? getGrantReasons(r.analysis) : []))
  const ignored = [...new Set(results.flatMap((r) => r.ignoredContextKeys ?? []))]
  decisions.push({ result: response.overallResult, grants, ignoredContextKeys: ignored })
}
process.stdout.write(JSON.stringify({ decisions }))
