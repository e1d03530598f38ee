// The Hello tab: the greetings of the runs checked in the run selector, a table per run.
//
// A stepscope page module: an ES module whose default export makes the view
// (see docs/plugins.md). Served at /api/plugins/hello/static/hello.js under
// the page's Content-Security-Policy, so it is a plain same-origin file that
// imports nothing remote, never evaluates strings, and puts logged text into
// the page with textContent only.

export default function createView(host) {
  const root = document.createElement("div");
  root.className = "hello-view";
  let greetings = []; // [{run, tag, step, text}], as the server sent them
  let failure = null; // the last fetch's Error, shown instead of the tables
  let fetching = false;
  let again = false; // asked to fetch while fetching: fetch once more after
  let tagsSeen = null; // the tags of the last setTags, to fetch only when they change

  function load() {
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    host
      .fetchJson("greetings")
      .then(
        (body) => {
          greetings = body.greetings;
          failure = null;
        },
        (error) => {
          failure = error;
        },
      )
      .finally(() => {
        fetching = false;
        if (again) {
          again = false;
          load();
        } else {
          draw();
        }
      });
  }

  function draw() {
    if (failure) {
      root.replaceChildren(paragraph("hello-error", `Cannot read the greetings: ${failure.message}`));
    } else {
      const shown = host.runs().filter((run) => greetings.some((g) => g.run === run));
      root.replaceChildren(
        ...(shown.length ? shown.map(runTable) : [paragraph("hello-empty", "No greetings in the runs shown.")]),
      );
    }
    root.dataset.helloDrawn = "";
  }

  function runTable(run) {
    const section = document.createElement("section");
    section.className = "hello-run";
    section.dataset.run = run;
    section.style.margin = "0 0 1.5em";
    const heading = document.createElement("h3");
    const swatch = document.createElement("span");
    swatch.className = "hello-swatch";
    Object.assign(swatch.style, {
      display: "inline-block",
      width: "0.8em",
      height: "0.8em",
      marginRight: "0.4em",
      borderRadius: "2px",
      background: host.runColor(run),
    });
    const name = document.createElement("span");
    name.textContent = run;
    heading.append(swatch, name);
    const table = document.createElement("table");
    table.append(row("th", ["Step", "Tag", "Greeting"]));
    for (const greeting of greetings) {
      if (greeting.run === run) table.append(row("td", [String(greeting.step), greeting.tag, greeting.text]));
    }
    section.append(heading, table);
    return section;
  }

  load();
  return {
    root,
    setTags(tags) {
      const key = JSON.stringify(tags);
      if (tagsSeen !== null && key !== tagsSeen) load();
      tagsSeen = key;
    },
    updateRuns: draw,
    invalidate: load,
  };
}

function row(cell, texts) {
  const tr = document.createElement("tr");
  for (const text of texts) {
    const td = document.createElement(cell);
    td.textContent = text;
    td.style.padding = "0.2em 1em 0.2em 0";
    td.style.textAlign = "left";
    tr.append(td);
  }
  return tr;
}

function paragraph(className, text) {
  const p = document.createElement("p");
  p.className = className;
  p.textContent = text;
  return p;
}
