// trialmatch browse view: on a record's own page, show the one row as a list of fields
// (name, then value) instead of a single table row dozens of columns wide.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("body.row table.rows-and-columns").forEach((table) => {
    const rows = table.tBodies[0] ? table.tBodies[0].rows : [];
    if (!table.tHead || rows.length !== 1) {
      return;
    }
    const names = Array.from(table.tHead.querySelectorAll("th"), (th) => th.getAttribute("data-column") || th.textContent.trim());
    const record = document.createElement("tbody");
    Array.from(rows[0].cells).forEach((cell, index) => {
      const line = document.createElement("tr");
      const name = document.createElement("th");
      name.scope = "row";
      name.textContent = names[index] || "";
      line.append(name, cell);
      record.append(line);
    });
    table.tHead.remove();
    table.tBodies[0].replaceWith(record);
    table.classList.add("trialmatch-record");
  });
});
