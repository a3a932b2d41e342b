"""The pages: small views that call the library (through cchc_xls.web.library) and render one
of the templates beside this module. The app's state (data folder, password, running jobs) is
read from the current app, which create_app (cchc_xls.web.app) builds and registers these on."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for

from cchc_xls import rounds
from cchc_xls.names import windows_safe_name
from cchc_xls.outputs import HISTORY  # earlier results a reused folder keeps: not results to list
from cchc_xls.rounds import ROUND_NAME, RoundSettings, load_round, save_round
from cchc_xls.web import library, views
from cchc_xls.web.security import check_password, inside
from cchc_xls.web.uploads import save_uploads

ROUTES: list[tuple[str, list[str], str, object]] = []  # (rule, methods, endpoint, view)


def route(rule: str, methods: list[str], endpoint: str | None = None):
    """Record a view for create_app to register (endpoint: the function's name unless given)."""
    def record(view):
        ROUTES.append((rule, methods, endpoint or view.__name__, view))
        return view
    return record


def _root() -> Path:
    return current_app.config["CCHC_ROOT"]


def _jobs():
    return current_app.extensions["cchc_jobs"]


def _password() -> str | None:
    return current_app.config["CCHC_PASSWORD"]


def round_dir(name: str) -> Path:
    """The round folder NAME inside the data folder, or 404."""
    if not ROUND_NAME.match(name):
        abort(404)
    folder = inside(_root(), name)
    if not rounds.is_round(folder):
        abort(404)
    return folder


def settings_of(folder: Path) -> RoundSettings:
    """The round's dot.yaml (a 500 page naming the problem if it cannot be read)."""
    try:
        return load_round(folder)
    except library.CchcError as exc:
        abort(500, description=str(exc))


def rel(path: Path) -> str:
    """A path inside the data folder as the download URLs write it."""
    return Path(path).resolve().relative_to(_root().resolve()).as_posix()


def shown_path(text: str) -> str:
    """A path as harvest.json records it, shown from the data folder (shorter, no temp dirs)."""
    text = str(text or "")
    for prefix in {str(_root().resolve()), str(_root())}:
        if text.startswith(prefix + os.sep) or text.startswith(prefix + "/"):
            return text[len(prefix) + 1:].replace("\\", "/")
    return text


def results_or_none(folder: Path | None):
    """The results in folder, or None (with a message when harvest.json cannot be read)."""
    if folder is None or not (folder / "harvest.json").is_file():
        return None
    try:
        return library.load_results(folder)
    except library.CchcError as exc:
        flash(str(exc), "error")
        return None


def step_state(folder: Path) -> dict:
    """Which steps of the year a round has done, for the navigation and the overview."""
    return {
        "setup": bool(settings_of(folder).rubric and settings_of(folder).units),
        "sent": (folder / rounds.TEMPLATES / "templates.zip").is_file(),
        "harvested": (folder / rounds.SELF_RESULTS / "harvest.json").is_file(),
        "appraisal": (folder / rounds.APPRAISAL).is_dir(),
        "final": (folder / rounds.FINAL_RESULTS / "harvest.json").is_file(),
        "explained": (folder / rounds.EXPLANATION).is_dir(),
        "round2": any((folder / rounds.ROUND2).glob("*.xlsx")),
        "round2_returned": any((folder / rounds.APPRAISAL).glob("tham-dinh-lan-2*")),
        "reports": (folder / rounds.REPORTS).is_dir(),
    }


def render_round(template: str, name: str, folder: Path, **context):
    """A page of a round: the template with the round's settings, steps and running job."""
    job = _jobs().get(str(folder))
    return render_template(template, name=name, settings=settings_of(folder), steps=step_state(folder),
                           job=job, **context)


# --- sign-in --------------------------------------------------------------------------------
@route("/dang-nhap", ["GET", "POST"], endpoint="login")
def login():
    """The password form (only when the page was started with a password)."""
    from flask import session

    if not _password():
        return redirect(url_for("index"))
    error = ""
    if request.method == "POST":
        if check_password(_password(), request.form.get("password", "")):
            session.clear()
            session["auth"] = True
            target = request.args.get("next", "")
            # only a path of this site: not //host, nor /\host (browsers read it as //host)
            local = target.startswith("/") and not target.startswith("//") and "\\" not in target
            return redirect(target if local else url_for("index"))
        error = "Mật khẩu không đúng."
    return render_template("login.html", error=error), (401 if error else 200)


@route("/dang-xuat", ["POST"])
def logout():
    """End the session."""
    from flask import session

    session.clear()
    return redirect(url_for("login") if _password() else url_for("index"))


# --- the start page ---------------------------------------------------------------------------
@route("/", ["GET"])
def index():
    """The start page: the rounds in the data folder, other result folders, a new round."""
    found, others = [], []
    for child in sorted(p for p in _root().iterdir() if p.is_dir() and not p.name.startswith(".")):
        if rounds.is_round(child) and ROUND_NAME.match(child.name):
            try:
                settings = load_round(child)
            except library.CchcError as exc:
                flash(str(exc), "error")
                continue
            results = results_or_none(rounds.latest_results(child))
            found.append({"name": child.name, "settings": settings, "steps": step_state(child),
                          "summary": _summary(results)})
    round_paths = {_root() / r["name"] for r in found}
    # three levels down is where people keep result folders; deeper (received/ copies) is not
    found_json = {p for pattern in ("*/harvest.json", "*/*/harvest.json", "*/*/*/harvest.json")
                  for p in _root().glob(pattern)
                  if not any(part.startswith(".") or part == HISTORY for part in p.relative_to(_root()).parts)}
    for path in sorted(found_json):
        if not any(parent in round_paths for parent in path.parents) and not path.is_symlink():
            others.append(rel(path.parent))
    return render_template("index.html", rounds=found, others=others, root=_root())


@route("/dot-moi", ["POST"])
def new_round():
    """Create a round folder with its dot.yaml."""
    name = windows_safe_name(request.form.get("name", "").strip().replace(" ", "-"), fallback="")
    title = request.form.get("title", "").strip()
    if not ROUND_NAME.match(name):
        flash("Tên thư mục của đợt chỉ gồm chữ không dấu, chữ số, dấu gạch ngang (ví dụ: cchc-2025).", "error")
        return redirect(url_for("index"))
    folder = _root() / name
    if folder.exists():
        flash(f"Đã có thư mục “{name}” trong {_root()}: chọn tên khác.", "error")
        return redirect(url_for("index"))
    save_round(folder, RoundSettings(title=title or name, period=request.form.get("period", "").strip()))
    flash("Đã tạo đợt đánh giá. Chọn bộ tiêu chí, tải danh sách đơn vị lên.", "ok")
    return redirect(url_for("setup", name=name))


# --- a round ------------------------------------------------------------------------------------
@route("/dot/<name>/", ["GET"])
def round_home(name):
    """A round's overview: where each step stands and what to do next."""
    folder = round_dir(name)
    results = results_or_none(rounds.latest_results(folder))
    return render_round("round.html", name, folder, summary=_summary(results))


@route("/dot/<name>/thiet-lap", ["GET", "POST"])
def setup(name):
    """Step 1: rubric, units list, period, deadlines, office profile."""
    folder = round_dir(name)
    settings = settings_of(folder)
    checks = {}
    if request.method == "POST":
        form = request.form
        changes = {key: form.get(key, "").strip() for key in
                   ("title", "period", "deadline", "appraisal_deadline", "explanation_deadline", *rounds.PROFILE_KEYS)}
        if form.get("period") and not _valid_period(changes["period"]):
            checks["period"] = library.Check(False, ("Kỳ đánh giá là năm (2024) hoặc nửa năm (2024-H1).",))
            changes.pop("period")
        choice = form.get("rubric_choice", "")
        upload = request.files.get("rubric_file")
        if upload and upload.filename:
            checks["rubric"] = _check_upload(upload, folder, library.check_rubric_upload, (".yaml", ".yml", ".xlsx"))
            if checks["rubric"].ok:
                changes["rubric"] = library.UPLOADED_RUBRIC
        elif choice and choice in {r["id"] for r in library.bundled_rubrics()}:
            changes["rubric"] = choice
        units = request.files.get("units_file")
        if units and units.filename:
            suffix = Path(units.filename).suffix.lower()
            if suffix not in (".csv", ".xlsx"):
                checks["units"] = library.Check(False, ("Danh sách đơn vị phải là tệp .csv hoặc .xlsx.",))
            else:
                target = folder / f"don-vi{suffix}"
                checks["units"] = _check_units_upload(units, folder, target)
                if checks["units"].ok:
                    changes["units"] = target.name
        settings = replace(settings, **changes)
        save_round(folder, settings)
        if all(c.ok for c in checks.values()):
            flash("Đã lưu thiết lập của đợt.", "ok")
        else:
            flash("Đã lưu các thông tin khác; tệp có lỗi chưa được dùng (xem bên dưới).", "error")
    current_units = None
    if settings.units and (folder / settings.units).is_file():
        current_units = library.check_units(folder / settings.units)
    return render_round("setup.html", name, folder, rubrics=library.bundled_rubrics(), checks=checks,
                        current_units=current_units)


# --- 1. send ----------------------------------------------------------------------------------
@route("/dot/<name>/gui", ["GET"])
def send(name):
    """Step 2: the templates, their zip and each commune's message."""
    folder = round_dir(name)
    out = folder / rounds.TEMPLATES
    messages = _messages(out)
    files = sorted(p for p in out.glob("*.xlsx")) if out.is_dir() else []
    return render_round("send.html", name, folder, files=files, messages=messages, out=out)


@route("/dot/<name>/gui/tao-phieu", ["POST"])
def generate(name):
    """Write the templates (again only when confirmed)."""
    folder = round_dir(name)
    if (folder / rounds.TEMPLATES / "templates.zip").is_file() and request.form.get("confirm") != "1":
        flash("Đã có phiếu: đánh dấu “Tôi hiểu, tạo lại toàn bộ phiếu” nếu thật sự muốn tạo lại.", "error")
        return redirect(url_for("send", name=name))
    try:
        result = library.generate(folder, settings_of(folder))
        flash(f"Đã tạo {len(result.files)} phiếu tự đánh giá.", "ok")
    except library.CchcError as exc:
        flash(str(exc), "error")
    return redirect(url_for("send", name=name))


# --- 2. receive -------------------------------------------------------------------------------
@route("/dot/<name>/nhan", ["GET"])
def receive(name):
    """Step 3: uploads, the harvest, the table of every commune, reminders."""
    folder = round_dir(name)
    inbox = folder / rounds.INBOX
    results = results_or_none(folder / rounds.SELF_RESULTS)
    wanted, order = request.args.get("loc", "tat-ca"), request.args.get("xep", "ma")
    rows = views.commune_rows(results, wanted, order) if results else []
    settings = settings_of(folder)
    missing = [u for u in results.units if u.status == "missing"] if results else []
    reminders = [(u, library.feedback_message(folder / rounds.SELF_RESULTS, u)
                  or views.reminder_text(u, settings.office, settings.deadline, settings.period)) for u in missing]
    inbox_files = sorted(p for p in inbox.rglob("*") if p.is_file()) if inbox.is_dir() else []
    return render_round("receive.html", name, folder, results=results, rows=rows, wanted=wanted, order=order,
                        filters=views.FILTERS, sorts=views.SORTS, reminders=reminders, inbox_files=inbox_files,
                        inbox=inbox, max_mb=current_app.config["CCHC_MAX_FILE"] // (1024 * 1024))


@route("/dot/<name>/nhan/tai-len", ["POST"])
def upload_returns(name):
    """Uploaded returns into the round's inbox."""
    folder = round_dir(name)
    return _upload(name, folder, folder / rounds.INBOX, "receive")


@route("/dot/<name>/nhan/thu", ["POST"])
def start_harvest(name):
    """Harvest the inbox in the background."""
    folder = round_dir(name)
    return _start_harvest(name, folder, with_appraisal=False, back="receive")


@route("/dot/<name>/tien-do.json", ["GET"])
def progress(name):
    """The running job's state as JSON, for the progress bar."""
    folder = round_dir(name)
    job = _jobs().get(str(folder))
    return jsonify(job.as_json() if job else {"state": "none", "percent": 0, "done": 0, "total": 0, "message": ""})


@route("/dot/<name>/don-vi/<code>", ["GET"])
def commune(name, code):
    """One commune: its files and their findings, its scores beside each maximum."""
    folder = round_dir(name)
    source = request.args.get("nguon", "")
    results_dir = folder / rounds.SELF_RESULTS if source == "tu-cham" else rounds.latest_results(folder)
    results = results_or_none(results_dir)
    if results is None:
        abort(404)
    unit = next((u for u in results.units if u.code == code), None)
    if unit is None:
        abort(404)
    files = views.files_by_unit(results).get(code, [])
    shown = [dict(f, status_label=views.FILE_STATUS_LABEL.get(f.get("status"), f.get("status")),
                  kind_label=views.KIND_LABEL.get(views.file_kind(f) or "", ""),
                  findings=views.sorted_findings(f.get("findings") or []),
                  received_rel=_received(results_dir, f)) for f in files]
    return render_round("commune.html", name, folder, unit=unit, files=shown,
                        message=library.feedback_message(results_dir, unit),
                        lines=views.score_lines(results, unit), results=results,
                        history=views.history_lines(results, unit),
                        row=next(r for r in views.commune_rows(results) if r.unit.code == code))


# --- 3. appraise ------------------------------------------------------------------------------
@route("/dot/<name>/tham-dinh", ["GET"])
def appraise(name):
    """Step 4: the council's workbooks, their return, what is still not appraised."""
    folder = round_dir(name)
    blank_dir = folder / rounds.APPRAISAL / rounds.APPRAISAL_BLANK
    blanks = sorted(blank_dir.glob("*.xlsx")) if blank_dir.is_dir() else []
    returned = [p for p in rounds.appraisal_inputs(folder) if p.is_file()]
    final = results_or_none(folder / rounds.FINAL_RESULTS)
    incomplete = [u for u in final.submitted() if not u.appraisal_complete] if final else []
    merged = []  # one row per council workbook: what was merged, what was wrong
    if final:
        for item in final.files:
            findings = item.get("findings") or []
            later = views.file_kind(item) in (views.KIND_EXPLANATION, views.KIND_ROUND2)  # step 5 lists those
            if later or not any(f.get("code", "").startswith("appraisal.") for f in findings):
                continue
            merged.append({"name": Path(str(item["path"]).replace("\\", "/")).name,
                           "done": [f["message"] for f in findings if f.get("code") == "appraisal.merged"],
                           "problems": views.sorted_findings([f for f in findings if f.get("severity") != "info"])})
    return render_round("appraise.html", name, folder, blanks=blanks, returned=returned, final=final,
                        incomplete=incomplete, merged=merged,
                        harvested=(folder / rounds.SELF_RESULTS / "harvest.json").is_file())


@route("/dot/<name>/tham-dinh/tao", ["POST"])
def write_appraisal(name):
    """Write the council's workbooks (by unit or by area)."""
    folder = round_dir(name)
    by = "area" if request.form.get("by") == "area" else "unit"
    try:
        outputs = library.appraise(folder, by, settings_of(folder))
        flash(f"Đã lập {len(outputs.workbooks)} bảng thẩm định"
              + (" và bảng điểm điều tra." if outputs.survey else "."), "ok")
    except library.CchcError as exc:
        flash(str(exc), "error")
    return redirect(url_for("appraise", name=name))


@route("/dot/<name>/tham-dinh/bang-tham-dinh.zip", ["GET"])
def appraisal_zip(name):
    """The blank council workbooks as one zip."""
    folder = round_dir(name)
    blank_dir = folder / rounds.APPRAISAL / rounds.APPRAISAL_BLANK
    return _zip_download(blank_dir, f"bang-tham-dinh_{name}.zip")


@route("/dot/<name>/tham-dinh/tai-len", ["POST"])
def upload_appraisal(name):
    """The council's filled workbooks into 4-tham-dinh."""
    folder = round_dir(name)
    return _upload(name, folder, folder / rounds.APPRAISAL, "appraise")


@route("/dot/<name>/tham-dinh/ghep", ["POST"])
def merge_appraisal(name):
    """Harvest the inbox with the council's workbooks in the background."""
    folder = round_dir(name)
    return _start_harvest(name, folder, with_appraisal=True, back="appraise")


# --- 4. the explanation round and round 2 ------------------------------------------------------
@route("/dot/<name>/giai-trinh", ["GET"])
def explanation(name):
    """Step 5: the communes the council cut explain; the council's second appraisal."""
    folder = round_dir(name)
    out, second = folder / rounds.EXPLANATION, folder / rounds.ROUND2
    final = results_or_none(folder / rounds.FINAL_RESULTS)
    workbooks = sorted(out.glob("giai-trinh_*.xlsx")) if out.is_dir() else []
    messages = out / "messages.txt"
    texts = views.split_messages(messages.read_text(encoding="utf-8")) if messages.is_file() else []
    rows = views.explanation_rows(final, workbooks, texts, library.disputed_codes)
    asked = {r.unit.code for r in rows}
    # explanation files of no commune asked here (another commune's, an unknown unit's): still shown
    others = [f for f in views.later_files(final, views.KIND_EXPLANATION) if f.get("unit_code") not in asked]
    round2_blanks = sorted(second.glob("*.xlsx")) if second.is_dir() else []
    # listed by the name `cchc appraise --round 2` gives them; a renamed one is still harvested
    returned = [p for p in rounds.appraisal_inputs(folder) if p.is_file() and p.name.startswith("tham-dinh-lan-2")]
    changed = []  # every criterion round 2 scored, with its whole history
    if final:
        for unit in final.submitted():
            changed += [(unit, line) for line in views.history_lines(final, unit) if line.round2]
    return render_round("explanation.html", name, folder, final=final, rows=rows, workbooks=workbooks, others=others,
                        messages=messages if messages.is_file() else None, out=out,
                        appraised=bool(final and any(u.appraisal or u.appraisal_comments for u in final.submitted())),
                        not_harvested=_not_harvested(folder, final), round2_blanks=round2_blanks, returned=returned,
                        round2_files=views.later_files(final, views.KIND_ROUND2), changed=changed,
                        max_mb=current_app.config["CCHC_MAX_FILE"] // (1024 * 1024))


@route("/dot/<name>/giai-trinh/tao", ["POST"])
def write_explanation(name):
    """Write the explanation workbooks and messages (again only when confirmed)."""
    folder = round_dir(name)
    if any((folder / rounds.EXPLANATION).glob("giai-trinh_*.xlsx")) and request.form.get("confirm") != "1":
        flash("Đã có bảng giải trình: đánh dấu “Tôi hiểu, lập lại bảng giải trình” nếu thật sự muốn lập lại.", "error")
        return redirect(url_for("explanation", name=name))
    try:
        codes = library.explain(folder, settings_of(folder))
        if codes:
            flash(f"Đã lập {len(codes)} bảng giải trình và nội dung tin nhắn gửi các đơn vị: {', '.join(codes)}.", "ok")
        else:
            flash("Không đơn vị nào cần giải trình: Hội đồng không chấm thấp hơn điểm tự đánh giá và không có ý kiến "
                  "ở tiêu chí nào.", "ok")
    except library.CchcError as exc:
        flash(str(exc), "error")
    return redirect(url_for("explanation", name=name))


@route("/dot/<name>/giai-trinh/bang-giai-trinh.zip", ["GET"])
def explanation_zip(name):
    """The explanation workbooks (and messages.txt) as one zip."""
    folder = round_dir(name)
    return _zip_download(folder / rounds.EXPLANATION, f"bang-giai-trinh_{name}.zip")


@route("/dot/<name>/giai-trinh/tai-len", ["POST"])
def upload_explanations(name):
    """The communes' filled explanation workbooks into the inbox, harvested with everything else."""
    folder = round_dir(name)
    return _upload(name, folder, folder / rounds.INBOX, "explanation")


@route("/dot/<name>/giai-trinh/thu", ["POST"])
def harvest_explanations(name):
    """Harvest the inbox with the council's workbooks again (the explanations come in with it)."""
    folder = round_dir(name)
    return _start_harvest(name, folder, with_appraisal=True, back="explanation")


@route("/dot/<name>/giai-trinh/lan-2/tao", ["POST"])
def write_round2(name):
    """Write the council's round-2 workbooks (by unit or by area)."""
    folder = round_dir(name)
    by = "area" if request.form.get("by") == "area" else "unit"
    try:
        count = library.appraise_round2(folder, by, settings_of(folder))
        flash(f"Đã lập {count} bảng thẩm định lần 2.", "ok")
    except library.CchcError as exc:
        flash(str(exc), "error")
    return redirect(url_for("explanation", name=name))


@route("/dot/<name>/giai-trinh/bang-tham-dinh-lan-2.zip", ["GET"])
def round2_zip(name):
    """The blank round-2 workbooks as one zip."""
    folder = round_dir(name)
    return _zip_download(folder / rounds.ROUND2, f"bang-tham-dinh-lan-2_{name}.zip")


@route("/dot/<name>/giai-trinh/lan-2/tai-len", ["POST"])
def upload_round2(name):
    """The council's filled round-2 workbooks into 4-tham-dinh, beside round 1's."""
    folder = round_dir(name)
    return _upload(name, folder, folder / rounds.APPRAISAL, "explanation")


@route("/dot/<name>/giai-trinh/lan-2/ghep", ["POST"])
def merge_round2(name):
    """Harvest everything again: round 2's scores replace round 1's."""
    folder = round_dir(name)
    return _start_harvest(name, folder, with_appraisal=True, back="explanation")


# --- 5. results ---------------------------------------------------------------------------------
@route("/dot/<name>/ket-qua", ["GET"])
def results_page(name):
    """Step 5: ranking, chart, heat map, downloads."""
    folder = round_dir(name)
    results_dir = rounds.latest_results(folder)
    return _results_view(results_dir, round_name=name, folder=folder)


@route("/dot/<name>/ket-qua/xep-hang", ["POST"])
def rank(name):
    """Rebuild Phụ lục II with the office profile."""
    folder = round_dir(name)
    results_dir = rounds.latest_results(folder)
    try:
        if results_dir is None:
            raise library.CchcError("Chưa có kết quả: thu và kiểm tra phiếu trước.")
        outputs = library.rank(results_dir, settings_of(folder))
        flash(f"Đã lập lại bảng xếp hạng {outputs.path.name}.", "ok")
    except library.CchcError as exc:
        flash(str(exc), "error")
    return redirect(url_for("results_page", name=name))


@route("/dot/<name>/ket-qua/bao-cao", ["POST"])
def write_reports(name):
    """Write the commune reports and the summary."""
    folder = round_dir(name)
    results_dir = rounds.latest_results(folder)
    try:
        if results_dir is None:
            raise library.CchcError("Chưa có kết quả: thu và kiểm tra phiếu trước.")
        reports = library.reports(folder, results_dir, settings_of(folder))
        flash(f"Đã viết {len(reports.communes)} báo cáo của đơn vị và báo cáo tổng hợp.", "ok")
    except library.CchcError as exc:
        flash(str(exc), "error")
    return redirect(url_for("results_page", name=name))


@route("/dot/<name>/tat-ca.zip", ["GET"])
def everything_zip(name):
    """The whole round folder as one zip."""
    folder = round_dir(name)
    return _zip_download(folder, f"{name}.zip")


@route("/ket-qua/<path:relative>", ["GET"])
def results_folder(relative):
    """Results in a folder of the data folder that is not a round (read only)."""
    folder = inside(_root(), relative)
    if not (folder / "harvest.json").is_file():
        abort(404)
    return _results_view(folder)


# --- downloads ------------------------------------------------------------------------------------
@route("/tai/<path:relative>", ["GET"])
def download(relative):
    """A file inside the data folder, whatever the URL says (see security.inside)."""
    target = inside(_root(), relative)
    if not target.is_file():
        abort(404)
    inline = request.args.get("xem") == "1" and target.suffix.lower() == ".txt"
    return send_file(target, as_attachment=not inline, download_name=target.name,
                     mimetype="text/plain; charset=utf-8" if inline else None)


# --- helpers that need the app's state ------------------------------------------------------------
def _results_view(results_dir: Path | None, round_name: str | None = None, folder: Path | None = None):
    results = results_or_none(results_dir)
    context = {"results": results, "results_dir": results_dir, "round_name": round_name}
    if results is not None:
        appraised = results_dir.name == rounds.FINAL_RESULTS or any(u.appraisal_total is not None for u in results.units)
        context.update(ranking=library.ordered_for_ranking(results), chart=views.ranking_chart(results),
                       round2_count=sum(1 for u in results.units for steps in u.history.values()
                                        if (steps.get("round2") or {}).get("score") is not None),
                       heat=views.heat_map(results, appraised), appraised=appraised,
                       downloads=[p for p in (results_dir / "phu-luc-ii.xlsx", results_dir / "phu-luc-ii.docx",
                                              results_dir / "tong-hop.xlsx",
                                              results_dir / "harvest.json") if p.is_file()])
    if folder is not None:
        reports_dir = folder / rounds.REPORTS
        written = sorted(reports_dir.glob("*.docx")) if reports_dir.is_dir() else []
        context["summary_reports"] = [p for p in written if p.name.startswith("bao-cao-tong-hop")]
        context["commune_reports"] = [p for p in written if not p.name.startswith("bao-cao-tong-hop")]
        return render_round("results.html", round_name, folder, **context)
    return render_template("results.html", name=None, settings=None, steps=None, job=None, summary_reports=[], commune_reports=[], **context)


def _upload(name: str, folder: Path, target: Path, back: str):
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    job = _jobs().get(str(folder))
    if job is not None and job.state == "running":
        # a file half-written while the harvest reads the inbox would be reported as damaged
        message = "Đang thu và kiểm tra cho đợt này: chờ xong rồi tải lên thêm."
        flash(message, "error")  # shown by the next page, also after a drop (the script goes there)
        if wants_json:
            return jsonify({"saved": [], "refused": [message], "next": url_for(back, name=name)}), 409
        return redirect(url_for(back, name=name))
    files = request.files.getlist("files")
    saved = save_uploads(files, target, current_app.config["CCHC_MAX_FILE"])
    if saved.names:
        flash(f"Đã nhận {len(saved.names)} tệp vào {target.name}: " + ", ".join(saved.names[:20])
              + ("…" if len(saved.names) > 20 else ""), "ok")
    for line in saved.refused:
        flash(line, "error")
    if not saved.names and not saved.refused:
        flash("Chưa chọn tệp nào.", "error")
    if wants_json:
        return jsonify({"saved": saved.names, "refused": saved.refused, "next": url_for(back, name=name)})
    return redirect(url_for(back, name=name))


def _start_harvest(name: str, folder: Path, *, with_appraisal: bool, back: str):
    settings = settings_of(folder)

    def work(job):
        outputs = library.harvest_round(folder, settings, with_appraisal=with_appraisal, progress=job)
        counts = outputs.harvest.counts()
        return (f"Đã nhận {counts['received']} tệp: {counts['accepted']} được tính, {counts['rejected']} bị từ chối, "
                f"{counts['superseded']} bị thay bằng tệp mới hơn, {counts['skipped']} bỏ qua; "
                f"còn {counts['missing']} đơn vị chưa nộp; {counts['errors']} lỗi, {counts['warnings']} cảnh báo.")

    job = _jobs().start(str(folder), "tham-dinh" if with_appraisal else "thu", work)
    if job is None:
        flash("Đang thu và kiểm tra cho đợt này: chờ xong rồi chạy lại.", "error")
    return redirect(url_for(back, name=name, **({"dang-chay": "1"} if job else {})))


def _not_harvested(folder: Path, final) -> list[str]:
    """Files put into the inbox or 4-tham-dinh after the last merge (5-ket-qua-tham-dinh), not
    counted until the next harvest: newer than its harvest.json and under a name it did not read
    (an upload never reuses a name, and a round copied elsewhere keeps its names, not its times)."""
    done = folder / rounds.FINAL_RESULTS / "harvest.json"
    if final is None or not done.is_file():
        return []
    since = done.stat().st_mtime
    read = {str(f.get("path", "")).split(" › ")[0].replace("\\", "/").rsplit("/", 1)[-1] for f in final.files}
    inbox = folder / rounds.INBOX
    candidates = [p for p in inbox.rglob("*") if p.is_file()] if inbox.is_dir() else []
    candidates += [p for p in rounds.appraisal_inputs(folder) if p.is_file()]
    return sorted(p.name for p in candidates if p.name not in read and p.stat().st_mtime > since)


def _zip_download(folder: Path, download_name: str):
    if not folder.is_dir():
        abort(404)
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)
    base = folder.resolve()
    with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            # nothing reached through a symlink, nothing half-written
            if path.is_symlink() or not path.is_file() or path.name.endswith(".part"):
                continue
            if base not in path.resolve().parents:
                continue
            archive.write(path, path.relative_to(folder).as_posix())
    spool.seek(0)
    return send_file(spool, as_attachment=True, download_name=download_name, mimetype="application/zip")


def vn_time(text) -> str:
    """2024-12-02T14:30:00+00:00 → 02/12/2024 14:30 (as people write it); anything else as is."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(text)).strftime("%d/%m/%Y %H:%M")
    except ValueError:
        return str(text or "")


def _summary(results) -> dict | None:
    if results is None:
        return None
    units = results.units
    return {"total": len(units), "submitted": sum(1 for u in units if u.status == "submitted"),
            "missing": sum(1 for u in units if u.status == "missing"),
            "rejected": sum(1 for u in units if u.status not in ("submitted", "missing")),
            "appraised": results.appraised}


def _valid_period(text: str) -> bool:
    from cchc_xls.units import parse_period

    try:
        parse_period(text)
    except library.CchcError:
        return False
    return True


def _staged(upload, folder: Path) -> Path:
    """An uploaded set-up file under its own (safe) name in a hidden folder of the round, so
    that what is said about it names the officer's file."""
    staging = folder / ".tai-len"
    staging.mkdir(exist_ok=True)
    path = staging / windows_safe_name(upload.filename)
    upload.save(path)
    return path


def _check_upload(upload, folder: Path, checker, suffixes) -> library.Check:
    """Check an uploaded rubric; the checker keeps what it accepts."""
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in suffixes:
        return library.Check(False, (f"Tệp phải có đuôi {', '.join(suffixes)}.",))
    path = _staged(upload, folder)
    try:
        return checker(path, folder)
    finally:
        path.unlink(missing_ok=True)


def _check_units_upload(upload, folder: Path, target: Path) -> library.Check:
    """The units list replaces the round's only when it reads without a problem."""
    path = _staged(upload, folder)
    try:
        check = library.check_units(path)
        if check.ok:
            os.replace(path, target)
        return check
    finally:
        path.unlink(missing_ok=True)


def _messages(out: Path) -> list[dict]:
    """messages.txt as one message per commune with its workbook, in the manifest's order."""
    path = out / "messages.txt"
    manifest = out / "manifest.csv"
    if not path.is_file():
        return []
    texts = [t.strip("\n") for t in path.read_text(encoding="utf-8").split("\n" + "=" * 72 + "\n")]
    rows = []
    if manifest.is_file():
        import csv

        rows = list(csv.DictReader(io.StringIO(manifest.read_text(encoding="utf-8-sig"))))
    messages = []
    for index, text in enumerate(t for t in texts if t.strip()):
        row = rows[index] if index < len(rows) else {}
        file = out / row["file"] if row.get("file") and (out / row["file"]).is_file() else None
        messages.append({"code": row.get("code", ""), "name": row.get("name", ""), "text": text, "file": file})
    return messages


def _received(results_dir: Path, item: dict) -> Path | None:
    name = item.get("received")
    path = results_dir / "received" / name if name else None
    return path if path is not None and path.is_file() else None
