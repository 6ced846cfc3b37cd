// Read a JSON array of post texts on stdin; print a JSON array of their front matter as
// js-yaml (Hexo's YAML loader) loads it. Used by tests/test_bad_input.py.
const yaml = require("js-yaml");
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const loaded = JSON.parse(input).map((text) => {
    const match = /^\n?---\n([\s\S]*?)\n---\n/.exec(text);
    return match ? yaml.load(match[1]) : null;
  });
  process.stdout.write(JSON.stringify(loaded));
});
