// Checks Kubernetes objects against the API schema of one Kubernetes
// version, as strictly as `kubectl apply` (field validation "Strict", the
// default since 1.27) and the API server would:
//   - the OpenAPI schema through kubernetes-models' validators (types,
//     required fields, enums, formats), and for the Prometheus Operator's
//     kinds its CRD schemas (@kubernetes-models/prometheus-operator);
//   - unknown fields, which those validators let through: each object is
//     type-checked as a literal of the kind's TypeScript interface, whose
//     excess-property check names any field the schema does not have.
// Usage: node check_manifests.mjs --kubernetes 1.27|1.33|1.36 FILE...
// Prints one line per object (OK or each error); exit 0 all valid, 1 not,
// 2 usage. It runs from the directory npm installed package.json into.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
// Kubernetes version -> the kubernetes-models release built from its schema
// (package.json installs each under its own name).
const MODELS = { "1.27": "k8s-1.27", "1.33": "k8s-1.33", "1.36": "kubernetes-models" };
const OPERATOR = "@kubernetes-models/prometheus-operator"; // v0.91.0's CRDs

function usage() {
  console.error("usage: node check_manifests.mjs --kubernetes " +
    Object.keys(MODELS).join("|") + " FILE...");
  process.exit(2);
}

function modulePath(models, apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "monitoring.coreos.com") return `${OPERATOR}/${group}/${version}/${kind}`;
  return `${models}/${group ? group + "/" : ""}${version}/${kind}`;
}

function readObjects(files) {
  const objects = [];
  for (const file of files) {
    parseAllDocuments(readFileSync(file, "utf8")).forEach((doc, i) => {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
      const value = doc.toJS();
      if (value == null) return;
      const name = `${file}#${i} ${value.kind}/${value.metadata?.name}`;
      objects.push({ name, value, errors: [] });
    });
  }
  return objects;
}

async function checkSchema(models, o) {
  const { apiVersion, kind } = o.value;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    o.errors.push("no apiVersion or kind");
    return;
  }
  o.module = modulePath(models, apiVersion, kind);
  let cls;
  try {
    cls = (await import(o.module))[kind];
  } catch {
    cls = undefined;
  }
  if (!cls) {
    o.errors.push(`no kind ${kind} in ${apiVersion} (${o.module})`);
    o.module = undefined;
    return;
  }
  try {
    new cls(o.value).validate();
  } catch (err) {
    o.errors.push(String(err.message).replace(/\s+/g, " "));
  }
}

// One .ts file: every object a literal of its kind's interface. tsc's
// errors come back as file(line,col): each is charged to the object whose
// lines hold it.
function checkFields(objects) {
  const typed = objects.filter((o) => o.module);
  if (!typed.length) return;
  const dir = mkdtempSync(join(here, ".check-"));
  try {
    const lines = [];
    typed.forEach((o, i) => {
      lines.push(`import type { I${o.value.kind} as T${i} } from "${o.module}";`);
    });
    typed.forEach((o, i) => {
      o.firstLine = lines.length + 1;
      lines.push(...`export const o${i}: T${i} = ${JSON.stringify(o.value, null, 2)};`.split("\n"));
      o.lastLine = lines.length;
    });
    writeFileSync(join(dir, "objects.ts"), lines.join("\n") + "\n");
    const tsc = spawnSync(process.execPath, [join(here, "node_modules/typescript/bin/tsc"),
      "--noEmit", "--strict", "--skipLibCheck", "--module", "nodenext",
      "--moduleResolution", "nodenext", join(dir, "objects.ts")],
    { encoding: "utf8" });
    for (const line of tsc.stdout.split("\n")) {
      const m = line.match(/objects\.ts\((\d+),\d+\): error (TS\d+: .*)/);
      if (!m) continue;
      const at = Number(m[1]);
      const o = typed.find((t) => at >= t.firstLine && at <= t.lastLine);
      if (o) o.errors.push(m[2]);
      else typed[0].errors.push(`(imports) ${m[2]}`);
    }
    if (tsc.status !== 0 && typed.every((o) => !o.errors.length))
      typed[0].errors.push(`tsc exited ${tsc.status}: ${tsc.stdout}${tsc.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv) {
  if (argv[0] !== "--kubernetes" || !MODELS[argv[1]] || argv.length < 3) usage();
  const objects = readObjects(argv.slice(2));
  if (!objects.length) {
    console.log("no objects");
    return 1;
  }
  for (const o of objects) await checkSchema(MODELS[argv[1]], o);
  checkFields(objects);
  for (const o of objects) {
    if (!o.errors.length) console.log(`OK   Kubernetes ${argv[1]}: ${o.name}`);
    for (const e of o.errors) console.log(`FAIL Kubernetes ${argv[1]}: ${o.name}: ${e}`);
  }
  return objects.some((o) => o.errors.length) ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
