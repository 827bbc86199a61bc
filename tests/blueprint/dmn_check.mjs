// Reads DMN exports with bpmn-io's dmn-moddle and evaluates their decision tables with feelin.
//
// stdin: {"xml": "<definitions …>", "profiles": [{"profile": {key: value}, "at": "YYYY-MM-DD"}],
//         "types": {attribute key: catalog type}, "variables": {attribute key: FEEL variable}}
//        or {"items": [such a request, …]} to check several exports in one run
// stdout: {"warnings": [...], "feelErrors": [...], "decisions": [{id, name, hitPolicy, inputs, rules}],
//          "results": [{decision id: {"offer": key, "fallback": bool} | null}]}  (one per profile)
//        or {"items": [such an answer, …]}
//
// Every input entry is evaluated as a FEEL unary test (feelin's unaryTest, the input value as
// "?"); a FIRST table's answer is the outputs of its first rule whose entries all hold. Entry
// decisions are evaluated first and their result is a variable of the decisions that need them.
import { readFileSync } from 'node:fs';
import { DmnModdle } from 'dmn-moddle';
import { evaluate, unaryTest } from 'feelin';

const moddle = new DmnModdle();

async function check(request) {
  const { rootElement: definitions, warnings } = await moddle.fromXML(request.xml, 'dmn:Definitions');

  const feelErrors = [];
  function feel(kind, text, context) {
    const answer = kind === 'test' ? unaryTest(text, context) : evaluate(text, context);
    if (answer.warnings && answer.warnings.length) {
      feelErrors.push({ text, warnings: answer.warnings.map((w) => w.message || String(w)) });
    }
    return answer.value;
  }

  const decisions = definitions.drgElement.filter((e) => e.$type === 'dmn:Decision');
  const summary = decisions.map((d) => ({
    id: d.id,
    name: d.name,
    label: d.label || null,
    hitPolicy: d.decisionLogic.hitPolicy,
    inputs: (d.decisionLogic.input || []).map((i) => i.inputExpression.text),
    outputs: (d.decisionLogic.output || []).map((o) => o.name),
    rules: (d.decisionLogic.rule || []).map((r) => ({
      description: r.description || null,
      inputs: (r.inputEntry || []).map((e) => e.text),
      outputs: (r.outputEntry || []).map((e) => e.text),
    })),
    requires: (d.informationRequirement || []).map((r) =>
      r.requiredDecision ? r.requiredDecision.href : r.requiredInput.href),
  }));

  function valueOf(type, value) {
    if (value === undefined || value === null) return null;
    if (type === 'date') return feel('expr', 'date(x)', { x: value });
    return value;
  }

  function decide(table, context) {
    const values = (table.input || []).map((i) => feel('expr', i.inputExpression.text, context));
    for (const rule of table.rule || []) {
      const holds = (rule.inputEntry || []).every((entry, i) => {
        const text = entry.text.trim();
        if (text === '-' || text === '') return true;
        return feel('test', text, { ...context, '?': values[i] }) === true;
      });
      if (holds) {
        const out = {};
        table.output.forEach((o, i) => { out[o.name] = feel('expr', rule.outputEntry[i].text, context); });
        return out;
      }
    }
    return null;
  }

  const results = request.profiles.map(({ profile, at }) => {
    const context = { decision_date: feel('expr', 'date(x)', { x: at }) };
    for (const [key, variable] of Object.entries(request.variables)) {
      context[variable] = valueOf(request.types[key], profile[key]);
    }
    const answer = {};
    for (const decision of decisions) {
      const out = decide(decision.decisionLogic, context);
      if (decision.decisionLogic.output.length === 1) {
        context[decision.name] = out ? out[decision.decisionLogic.output[0].name] : null;
      } else {
        answer[decision.id] = out;
      }
    }
    return answer;
  });

  return {
    warnings: warnings.map((w) => w.message || String(w)),
    feelErrors,
    decisions: summary,
    results,
  };
}

const request = JSON.parse(readFileSync(0, 'utf8'));
const answer = request.items
  ? { items: await Promise.all(request.items.map(check)) }
  : await check(request);
process.stdout.write(JSON.stringify(answer));
