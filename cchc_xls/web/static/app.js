// A little script where it helps; every page also works without it.
"use strict";

function csrfOf(form) {
  const input = form.querySelector("input[name=csrf_token]");
  return input ? input.value : "";
}

// Copy buttons: the text of the box next to the button.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const box = document.getElementById(button.dataset.copy);
  box.select();
  const done = () => { button.textContent = "Đã sao chép"; setTimeout(() => { button.textContent = "Sao chép"; }, 2000); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(box.value).then(done, () => { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});

// Progress of a running harvest: poll the status every half second, reload when it ends.
function pollJob(section) {
  const bar = section.querySelector("progress");
  const count = section.querySelector(".job-count");
  const tick = () => {
    fetch(section.dataset.status, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => r.json())
      .then((job) => {
        bar.value = job.percent;
        bar.textContent = job.percent + "%";
        count.textContent = job.done + "/" + job.total + " tệp";
        if (job.state === "running") {
          setTimeout(tick, 500);
        } else {
          const url = new URL(window.location.href);
          url.searchParams.set("dang-chay", "1");
          window.location.replace(url.toString());
        }
      })
      .catch(() => setTimeout(tick, 1000));
  };
  tick();
}

// Drag and drop onto an upload form: the files are sent as the form would send them.
function dropZone(form) {
  const zone = form.querySelector(".drop");
  const input = form.querySelector("input[type=file]");
  const label = form.querySelector(".drop-label");
  ["dragenter", "dragover"].forEach((name) => zone.addEventListener(name, (e) => { e.preventDefault(); zone.classList.add("over"); }));
  ["dragleave", "drop"].forEach((name) => zone.addEventListener(name, (e) => { e.preventDefault(); zone.classList.remove("over"); }));
  input.addEventListener("change", () => { label.textContent = input.files.length + " tệp đã chọn: bấm “Tải lên”."; });
  zone.addEventListener("drop", (e) => {
    const files = e.dataTransfer.files;
    if (!files.length) return;
    const data = new FormData();
    data.append("csrf_token", csrfOf(form));
    for (const file of files) data.append("files", file, file.name);
    label.textContent = "Đang tải lên " + files.length + " tệp…";
    fetch(form.action, { method: "POST", body: data, headers: { Accept: "application/json", "X-CSRF-Token": csrfOf(form) }, credentials: "same-origin" })
      .then((r) => (r.ok || r.status === 409 ? r.json() : Promise.reject(r.status)))
      .then((result) => { window.location.assign(result.next); })
      .catch((status) => { label.textContent = status === 413 ? "Tệp quá lớn: chia thành nhiều lần tải." : "Không tải lên được: thử lại."; });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("section.job[data-status]").forEach(pollJob);
  document.querySelectorAll("form[data-drop]").forEach(dropZone);
});
