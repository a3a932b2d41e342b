"""The `cchc` command: parses arguments, calls one library function, prints. Nothing else."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cchc_xls import __version__, cli_messages
from cchc_xls.errors import CchcError
from cchc_xls.findings import has_errors, message
from cchc_xls.numbers import format_vn, to_json_number
from cchc_xls.rubric import bundled_rubric_paths, check_rubric_file, load_rubric, resolve_rubric, rubric_nodes_json


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def profile_options(command):
    """The office profile, the same options with the same meanings on every command that writes
    a document: --profile FILE (YAML) and the keys as options, which win over the file."""
    options = [
        click.option("--profile", "profile_file", default=None, type=click.Path(exists=True, dir_okay=False),
                     help="Tệp hồ sơ cơ quan (YAML: issuer, office, signer_title, signer_name, place)."),
        click.option("--issuer", default="", help="UBND ban hành quyết định xếp hạng, ví dụ “UBND tỉnh Thái Nguyên”."),
        click.option("--office", default="", help="Cơ quan thường trực CCHC tổ chức đánh giá, ví dụ “Sở Nội vụ tỉnh Thái Nguyên”."),
        click.option("--signer-title", default="", help="Chức danh người ký của cơ quan, ví dụ “Giám đốc”."),
        click.option("--signer-name", default="", help="Họ tên người ký."),
        click.option("--place", default="", help="Địa danh ghi ngày tháng, ví dụ “Thái Nguyên”."),
        click.option("--date", "doc_date", default="", help="Ngày ghi trên văn bản, dạng DD/MM/YYYY (mặc định để trống cho cơ quan ghi)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _profile(profile_file, issuer, office, signer_title, signer_name, place, doc_date):
    """The profile the options give; an --office that names a UBND (as `rank` and `report` took it
    before profiles) is read as --issuer."""
    from cchc_xls.profile import legacy_office, load_profile

    if office and not issuer and legacy_office(office).issuer:
        issuer, office = office, ""
    return load_profile(profile_file, issuer=issuer, office=office, signer_title=signer_title,
                        signer_name=signer_name, place=place, date=doc_date)


cli_messages.install()  # click's own usage errors and help headings in Vietnamese


class _Command(click.Command):
    """A command whose usage line names its options in Vietnamese."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", cli_messages.OPTIONS_METAVAR)
        super().__init__(*args, **kwargs)


class _Group(click.Group):
    """Turns the project's errors into a clean Vietnamese message and exit code 1."""

    command_class = _Command
    group_class = type  # sub-groups (`cchc rubric`) are _Group too

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", cli_messages.OPTIONS_METAVAR)
        kwargs.setdefault("subcommand_metavar", cli_messages.SUBCOMMAND_METAVAR)
        super().__init__(*args, **kwargs)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CchcError as exc:
            click.echo(f"Lỗi: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cchc")
def main():
    """cchc: phiếu tự chấm điểm Chỉ số CCHC cấp xã trên Excel: tạo, thu, kiểm tra, xếp hạng."""


@main.command("rubrics")
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
def rubrics_command(as_json):
    """Liệt kê các bộ tiêu chí có sẵn."""
    items = []
    for path in bundled_rubric_paths():
        rubric = load_rubric(path)
        items.append({
            "id": rubric.id,
            "title": rubric.title,
            "legal_basis": rubric.legal_basis.describe(),
            "province": rubric.legal_basis.province,
            "total": to_json_number(rubric.total),
            "criteria": len(rubric.leaves()),
        })
    if as_json:
        _echo_json(items)
        return
    for item in items:
        click.echo(f"{item['id']}  ({format_vn(item['total'])} điểm, {item['criteria']} tiêu chí chấm điểm)")
        click.echo(f"    {item['title']}")
        click.echo(f"    Căn cứ: {item['legal_basis']}")


@main.group("rubric")
def rubric_group():
    """Xem, kiểm tra một bộ tiêu chí."""


@rubric_group.command("show")
@click.argument("rubric")
@click.option("--json", "as_json", is_flag=True, help="In danh sách các tiêu chí dạng JSON.")
def rubric_show(rubric, as_json):
    """In cây tiêu chí của RUBRIC (mã bộ tiêu chí có sẵn hoặc đường dẫn tệp .yaml)."""
    loaded = load_rubric(rubric)
    if as_json:
        _echo_json(rubric_nodes_json(loaded))
        return
    click.echo(f"{loaded.title} ({loaded.id})")
    click.echo(f"Căn cứ: {loaded.legal_basis.describe()}")
    click.echo(f"Tổng điểm: {format_vn(loaded.total)}")
    for node in loaded.nodes():
        marks = []
        if node.is_leaf and not node.self_scored:
            marks.append("tỉnh chấm")
        if node.may_be_na:
            marks.append("có thể không áp dụng")
        if node.applies_to:
            marks.append("chỉ áp dụng: " + ", ".join(node.applies_to))
        if node.part:
            marks.append("điểm thưởng" if node.part == "bonus" else "điểm trừ")
        if node.sanction:
            marks.append(f"khi bị trừ điểm: {node.sanction_text()}")
        extra = f"  [{'; '.join(marks)}]" if marks else ""
        click.echo(f"{'  ' * node.depth}{node.code}  {node.label}  ({format_vn(node.max)}){extra}")
    for extra_part in loaded.extras():
        name = "Điểm thưởng" if extra_part.part == "bonus" else "Điểm trừ"
        click.echo(f"{name}: tính tối đa {format_vn(extra_part.max)} điểm")
    bands = ", ".join(f"{b.name} ≥ {format_vn(b.min)}"
                      + (f" (tối đa {format_vn(b.max_share * 100)}% số đơn vị)" if b.max_share is not None else "")
                      for b in loaded.bands)
    click.echo(f"Xếp loại: {bands}" + (" (giả định)" if loaded.bands_assumed else ""))
    if loaded.ranking_groups:
        click.echo("Xếp hạng riêng: " + " | ".join(loaded.ranking_group_names()))


@rubric_group.command("check")
@click.argument("path")
def rubric_check(path):
    """Kiểm tra một tệp bộ tiêu chí; thoát mã 1 nếu có lỗi."""
    rubric, findings = check_rubric_file(resolve_rubric(path))
    for finding in findings:
        click.echo(str(finding))
    if has_errors(findings):
        errors = sum(1 for f in findings if f.is_error)
        click.echo(f"Bộ tiêu chí có {errors} lỗi: chưa dùng được.", err=True)
        sys.exit(1)
    click.echo(f"Hợp lệ: {rubric.id}, {len(rubric.nodes())} mục, {len(rubric.leaves())} tiêu chí chấm điểm, "
               f"tổng {format_vn(rubric.total)} điểm.")


@rubric_group.command("export")
@click.argument("rubric")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Tệp Excel ghi ra (.xlsx).")
def rubric_export(rubric, out_path):
    """Xuất bộ tiêu chí RUBRIC ra bảng Excel để sửa (cho bộ tiêu chí năm sau)."""
    from cchc_xls.rubric_xlsx import default_evidence_of, export_rubric

    loaded = load_rubric(rubric)
    path = export_rubric(loaded, Path(out_path), default_evidence_of(loaded))
    click.echo(f"Đã xuất {loaded.id} ({len(loaded.nodes())} mục) ra {path}. Sửa trong Excel rồi chạy “cchc rubric import”.")


@rubric_group.command("import")
@click.argument("workbook", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Tệp bộ tiêu chí ghi ra (.yaml).")
def rubric_import(workbook, out_path):
    """Nhập bộ tiêu chí từ bảng Excel (trang Tiêu chí, Thông tin); báo mọi lỗi theo số dòng."""
    from cchc_xls.rubric_xlsx import import_rubric, write_rubric_yaml

    data, problems, findings = import_rubric(Path(workbook))
    for problem in problems:
        click.echo(str(problem))
    for finding in findings:
        click.echo(str(finding))
    errors = len(problems) + sum(1 for f in findings if f.is_error)
    if errors:
        click.echo(f"Có {errors} lỗi: chưa ghi bộ tiêu chí. Sửa bảng Excel theo các dòng trên rồi chạy lại.", err=True)
        sys.exit(1)
    path = write_rubric_yaml(data, Path(out_path), Path(workbook).name)
    rubric = load_rubric(path)
    click.echo(f"Đã ghi {path}: {rubric.id}, {len(rubric.nodes())} mục, {len(rubric.leaves())} tiêu chí chấm điểm, "
               f"tổng {format_vn(rubric.total)} điểm. Kiểm tra: cchc rubric show {path}")


@main.command("generate")
@click.argument("rubric")
@click.option("--units", "units_path", required=True, type=click.Path(dir_okay=False),
              help="Danh sách đơn vị: CSV hoặc XLSX, cột code,name (hoặc Mã, Tên đơn vị), tùy chọn kind, group.")
@click.option("--period", required=True, help="Kỳ đánh giá: năm (2024) hoặc nửa năm (2024-H1).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Thư mục ghi kết quả.")
@profile_options
@click.option("--deadline", default="", help="Hạn gửi lại, ví dụ 15/12/2024.")
@click.option("--password", default="", help="Mật khẩu khóa trang tính (tùy chọn).")
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
def generate_command(rubric, units_path, period, out_dir, profile_file, issuer, office, signer_title, signer_name,
                     place, doc_date, deadline, password, as_json):
    """Tạo phiếu tự đánh giá (Phụ lục I) cho từng đơn vị, kèm manifest.csv, templates.zip, messages.txt."""
    from cchc_xls.generate import generate_templates
    from cchc_xls.units import parse_period

    loaded = load_rubric(rubric)
    units = _load_units(units_path)
    profile = _profile(profile_file, issuer, office, signer_title, signer_name, place, doc_date)
    result = generate_templates(loaded, units, parse_period(period), Path(out_dir), profile=profile,
                                deadline=deadline, password=password)
    if as_json:
        _echo_json({"out": str(result.out_dir), "batch": result.batch, "files": [str(p) for p in result.files],
                    "manifest": str(result.manifest), "archive": str(result.archive), "messages": str(result.messages),
                    "stale": list(result.stale)})
        return
    click.echo(f"Đã tạo {len(result.files)} phiếu tự đánh giá trong {result.out_dir}")
    click.echo(f"  - Danh sách tệp: {result.manifest}")
    click.echo(f"  - Tất cả phiếu trong một tệp nén để gửi: {result.archive}")
    click.echo(f"  - Nội dung tin nhắn gửi từng đơn vị: {result.messages}")
    if result.stale:
        click.echo(f"{len(result.stale)} phiếu của lần tạo trước không còn trong danh sách đã chuyển vào "
                   f"{result.out_dir / 'lich-su'}: {', '.join(result.stale[:5])}{'…' if len(result.stale) > 5 else ''}")


def _load_units(path: str):
    """The units file, its warnings (two units with the same name) printed on stderr."""
    from cchc_xls.units import load_units

    warnings: list = []
    units = load_units(path, warnings)
    for warning in warnings:
        click.echo(str(warning), err=True)
    return units


@main.command("harvest")
@click.argument("rubric")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--units", "units_path", required=True, type=click.Path(dir_okay=False), help="Danh sách đơn vị (CSV hoặc XLSX).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Thư mục ghi kết quả.")
@click.option("--period", default=None, help="Kỳ đánh giá cần tổng hợp (mặc định: kỳ của đa số tệp nhận được).")
@click.option("--deadline", default=None, help="Hạn gửi lại ghi trong thư phản hồi, ví dụ 15/12/2024 (mặc định: sớm nhất có thể).")
@click.option("--previous", "previous", default=None, type=click.Path(exists=True, file_okay=False),
              help="Thư mục kết quả thu năm trước (có harvest.json) để so sánh với năm nay.")
@click.option("--previous-map", "previous_map", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Tệp CSV “old,new” đối chiếu mã đơn vị cũ với mã mới (đơn vị sáp nhập, đổi tên).")
@profile_options
@click.option("--json", "as_json", is_flag=True, help="In tóm tắt dạng JSON.")
def harvest_command(rubric, inputs, units_path, out_dir, period, deadline, previous, previous_map, profile_file, issuer,
                    office, signer_title, signer_name, place, doc_date, as_json):
    """Thu và kiểm tra các phiếu đơn vị gửi về (tệp, thư mục, tệp .zip); ghi harvest.json, tong-hop.xlsx, received/."""
    from cchc_xls.feedback import parse_deadline
    from cchc_xls.pipeline import run_harvest
    from cchc_xls.score import counts_sentence
    from cchc_xls.units import parse_period

    loaded = load_rubric(rubric)
    units = _load_units(units_path)
    wanted = parse_period(period) if period else None
    profile = _profile(profile_file, issuer, office, signer_title, signer_name, place, doc_date)
    if previous_map and not previous:
        raise click.UsageError(message("previous.map_without_previous"))
    outputs = run_harvest(loaded, [Path(p) for p in inputs], units, Path(out_dir), period=wanted,
                          progress_label=None if as_json else "Đang đọc các tệp",
                          previous=Path(previous) if previous else None,
                          previous_map=Path(previous_map) if previous_map else None, profile=profile,
                          deadline=parse_deadline(deadline))
    counts = outputs.harvest.counts()
    notices = [f.message for f in outputs.harvest.notices]
    if as_json:
        _echo_json({"out": str(outputs.out_dir), "summary": counts, "notices": notices,
                    "outputs": {k: str(v) for k, v in outputs.paths.items()}})
        if not outputs.harvest.usable:
            sys.exit(1)
        return
    click.echo(f"Đã ghi kết quả vào {outputs.out_dir}:")
    for label, path in outputs.labelled():
        click.echo(f"  - {label}: {path}")
    click.echo(f"{counts_sentence(counts)} {counts['errors']} lỗi, {counts['warnings']} cảnh báo.")
    if counts.get("suggestions"):
        click.echo(f"{counts['suggestions']} gợi ý về tài liệu kiểm chứng cho Hội đồng thẩm định (trang “Kiểm tra”).")
    for notice in notices:  # the office's own mistake, said once, last, where it is seen
        click.echo(notice, err=True)
    if not outputs.harvest.usable:
        sys.exit(1)


@main.command("appraise")
@click.argument("harvest_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Thư mục ghi các bảng thẩm định.")
@click.option("--by", type=click.Choice(["unit", "area"]), default="unit", show_default=True,
              help="unit: một bảng cho mỗi đơn vị; area: một bảng cho mỗi lĩnh vực, các đơn vị theo cột.")
@click.option("--round", "round_", type=click.Choice(["1", "2"]), default="1", show_default=True,
              help="1: thẩm định lần 1; 2: thẩm định lần 2 các tiêu chí đã giải trình (sau “cchc explain”).")
@click.option("--password", default="", help="Mật khẩu khóa trang tính (tùy chọn).")
@profile_options
@click.option("--json", "as_json", is_flag=True, help="In danh sách tệp đã ghi dạng JSON.")
def appraise_command(harvest_dir, out_dir, by, round_, password, profile_file, issuer, office, signer_title,
                     signer_name, place, doc_date, as_json):
    """Lập bảng thẩm định (và bảng điểm điều tra) từ HARVEST_DIR/harvest.json cho Hội đồng thẩm định."""
    from cchc_xls.appraise import write_appraisal_workbooks

    profile = _profile(profile_file, issuer, office, signer_title, signer_name, place, doc_date)
    if round_ == "2":
        from cchc_xls.explanation_write import write_round2_workbooks

        second = write_round2_workbooks(Path(harvest_dir), Path(out_dir), by=by, password=password, profile=profile)
        if as_json:
            _echo_json({"round": 2, "workbooks": [str(p) for p in second.workbooks]})
            return
        what = "đơn vị" if by == "unit" else "lĩnh vực"
        click.echo(f"Đã ghi {len(second.workbooks)} bảng thẩm định lần 2 (theo {what}) vào {second.out_dir}")
        click.echo("Sau khi Hội đồng điền xong, chạy lại “cchc harvest” với mọi tệp (phiếu, bảng thẩm định lần 1, "
                   "bảng giải trình, bảng lần 2): điểm lần 2 thay điểm lần 1 ở các tiêu chí Hội đồng chấm lại.")
        return
    outputs = write_appraisal_workbooks(Path(harvest_dir), Path(out_dir), by=by, password=password, profile=profile)
    if as_json:
        _echo_json({"workbooks": [str(p) for p in outputs.workbooks],
                    "survey": str(outputs.survey) if outputs.survey else None})
        return
    what = "đơn vị" if by == "unit" else "lĩnh vực"
    click.echo(f"Đã ghi {len(outputs.workbooks)} bảng thẩm định (theo {what}) vào {outputs.out_dir}")
    if outputs.survey:
        click.echo(f"Bảng điểm điều tra xã hội học, SIPAS do tỉnh cung cấp: {outputs.survey}")
    click.echo("Sau khi Hội đồng điền xong, chạy lại “cchc harvest” với cả các bảng này để ghép điểm thẩm định.")


@main.command("explain")
@click.argument("harvest_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Thư mục ghi các bảng giải trình.")
@click.option("--deadline", default="", help="Hạn đơn vị gửi lại bảng giải trình, ví dụ 20/01/2025.")
@click.option("--password", default="", help="Mật khẩu khóa trang tính (tùy chọn).")
@profile_options
@click.option("--json", "as_json", is_flag=True, help="In danh sách tệp đã ghi dạng JSON.")
def explain_command(harvest_dir, out_dir, deadline, password, profile_file, issuer, office, signer_title, signer_name,
                    place, doc_date, as_json):
    """Lập bảng giải trình cho từng đơn vị có tiêu chí bị Hội đồng chấm thấp hơn hoặc có ý kiến."""
    from cchc_xls.explanation_write import write_explanation_workbooks

    profile = _profile(profile_file, issuer, office, signer_title, signer_name, place, doc_date)
    outputs = write_explanation_workbooks(Path(harvest_dir), Path(out_dir), deadline=deadline, password=password,
                                          profile=profile)
    if as_json:
        _echo_json({"workbooks": [str(p) for p in outputs.workbooks], "units": list(outputs.units),
                    "messages": str(outputs.messages) if outputs.messages else None})
        return
    if not outputs.workbooks:
        click.echo("Không có đơn vị nào cần giải trình: Hội đồng không chấm thấp hơn điểm tự đánh giá, không có ý kiến.")
        return
    click.echo(f"Đã ghi {len(outputs.workbooks)} bảng giải trình vào {outputs.out_dir}")
    click.echo(f"  - Nội dung tin nhắn gửi từng đơn vị: {outputs.messages}")
    click.echo("Khi các đơn vị gửi lại, lập bảng thẩm định lần 2: cchc appraise KẾT_QUẢ --round 2 --out THƯ_MỤC "
               "(KẾT_QUẢ là lần tổng hợp có cả các bảng giải trình).")


@main.command("rank")
@click.argument("harvest_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Thư mục ghi phu-luc-ii.xlsx (mặc định: chính HARVEST_DIR).")
@profile_options
@click.option("--json", "as_json", is_flag=True, help="In bảng xếp hạng dạng JSON.")
def rank_command(harvest_dir, out_dir, profile_file, issuer, office, signer_title, signer_name, place, doc_date,
                 as_json):
    """Lập lại bảng xếp hạng Phụ lục II từ HARVEST_DIR/harvest.json (sau khi sửa hoặc thẩm định)."""
    from cchc_xls.pipeline import run_rank
    from cchc_xls.results import ordered_for_ranking

    profile = _profile(profile_file, issuer, office, signer_title, signer_name, place, doc_date)
    outputs = run_rank(Path(harvest_dir), Path(out_dir) if out_dir else None, profile=profile)
    results = outputs.results
    if as_json:
        _echo_json({"path": str(outputs.path), "docx": str(outputs.docx), "provisional": not results.appraised, "units": [
            {"code": u.code, "name": u.name, "self_total": to_json_number(u.self_total),
             "appraisal_total": to_json_number(u.appraisal_total), "rank": u.rank, "group": u.group, "ranking_group": u.ranking_group,
             "group_note": u.group_note, "note": u.note}
            for u in ordered_for_ranking(results)]})
        return
    click.echo(f"Đã ghi bảng xếp hạng: {outputs.path} (bản Word: {outputs.docx})")
    if not results.appraised:
        click.echo("Lưu ý: tạm xếp theo điểm tự chấm (chưa có đủ điểm thẩm định).")
    for unit in ordered_for_ranking(results):
        total = format_vn(unit.ranking_total) if unit.rank is not None else "-"
        click.echo(f"  {unit.rank or '-':>3}  {unit.committee:<40} {total:>8}  {unit.group or unit.note}")


@main.command("report")
@click.argument("harvest_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--unit", "unit_code", default=None, help="Chỉ lập báo cáo của đơn vị có mã này.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Thư mục ghi các báo cáo .docx.")
@profile_options
@click.option("--templates", "templates_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="Thư mục mẫu báo cáo của cơ quan (bao-cao-xa.docx, bao-cao-tong-hop.docx); thiếu mẫu nào dùng mẫu có sẵn.")
@click.option("--json", "as_json", is_flag=True, help="In danh sách tệp đã ghi dạng JSON.")
def report_command(harvest_dir, unit_code, out_dir, profile_file, issuer, office, signer_title, signer_name, place,
                   doc_date, templates_dir, as_json):
    """Viết báo cáo (.docx) của từng đơn vị và báo cáo tổng hợp từ HARVEST_DIR/harvest.json."""
    from cchc_xls.report import write_reports

    profile = _profile(profile_file, issuer, office, signer_title, signer_name, place, doc_date)
    reports = write_reports(Path(harvest_dir), Path(out_dir), unit_code=unit_code, profile=profile,
                            templates_dir=Path(templates_dir) if templates_dir else None)
    if as_json:
        _echo_json({"communes": [str(p) for p in reports.communes],
                    "summary": str(reports.summary) if reports.summary else None})
        return
    click.echo(f"Đã ghi {len(reports.communes)} báo cáo của đơn vị vào {reports.out_dir}")
    if reports.summary:
        click.echo(f"Báo cáo tổng hợp: {reports.summary}")


@main.command("demo")
@click.option("--out", "out_dir", default="output/demo", show_default=True, type=click.Path(file_okay=False),
              help="Thư mục ghi kết quả chạy thử (bị ghi đè).")
def demo_command(out_dir):
    """Chạy thử toàn bộ quy trình trên DỮ LIỆU MẪU: tạo phiếu, điền, thu, kiểm tra, xếp hạng, báo cáo."""
    from cchc_xls.demo import run_demo

    click.echo("Chạy thử trên DỮ LIỆU MẪU (huyện Mẫu, 15 đơn vị; 3 đơn vị mang điểm thật của xã Chí Minh, "
               "thị trấn Thanh Miện, xã Thanh Xá):")
    demo = run_demo(Path(out_dir))
    counts = demo.harvest.harvest.counts()
    paths, final = demo.harvest.paths, demo.final.paths
    click.echo(f"1. Phiếu gửi các xã: {demo.templates} (kèm templates.zip, messages.txt)")
    click.echo(f"2. Hộp thư giả lập (tệp các xã gửi về, có tệp nén Zalo, hộp thư .mbox kèm bản ký số, tệp gửi 2 lần, "
               f"tệp tạm): {demo.inbox}")
    click.echo(f"3. Thu và kiểm tra phiếu tự chấm: {demo.harvest.out_dir}")
    click.echo(f"   Đã nhận {counts['received']} tệp: {counts['accepted']} được tính, {counts['rejected']} bị từ chối, "
               f"{counts['superseded']} bị thay bằng tệp mới hơn, {counts['skipped']} bỏ qua; "
               f"{counts['missing']} đơn vị chưa nộp; {counts['errors']} lỗi, {counts['warnings']} cảnh báo.")
    click.echo(f"   Thư phản hồi, nhắc nộp gửi từng xã: {paths['feedback']} (kèm {paths['feedback_csv'].name} để trộn thư); "
               f"{counts['attachments']} tài liệu kèm theo (bản ký số) đã gắn với xã gửi.")
    click.echo(f"4. Bảng thẩm định Hội đồng đã điền và bảng điểm điều tra của tỉnh: {demo.appraisal}")
    click.echo(f"5. Kết quả sau thẩm định (xếp hạng chính thức, gồm thẩm định lần 2): {demo.final.out_dir}")
    click.echo(f"   Trang “Tự chấm – Thẩm định” của {final['tong_hop']}: các tiêu chí Hội đồng thay đổi điểm, "
               "ý kiến và giải trình của xã.")
    click.echo(f"6. Báo cáo: {len(demo.reports.communes)} báo cáo của xã và báo cáo tổng hợp trong {demo.reports.out_dir}")
    if demo.explanation:
        click.echo(f"7. Bảng giải trình gửi các xã bị trừ điểm (kèm messages.txt; các xã gửi lại qua thư điện tử, "
                   f"hộp thư .mbox trong {demo.inbox.name}): {demo.explanation}")
        click.echo(f"8. Bảng thẩm định lần 2 (Hội đồng đã điền bản trong {demo.appraisal.name}): {demo.round2}")
    click.echo("")
    click.echo("Nên mở trước:")
    click.echo(f"  - {paths['tong_hop']}  (trang “Kiểm tra”: mọi lỗi trong phiếu các xã, theo tệp, trang, ô)")
    click.echo(f"  - {paths['phu_luc_ii']}  (xếp hạng tạm theo điểm tự chấm)")
    click.echo(f"  - {final['phu_luc_ii']}  (Phụ lục II theo điểm thẩm định)")
    if demo.reports.summary:
        click.echo(f"  - {demo.reports.summary}  (báo cáo tổng hợp)")


@main.command("serve")
@click.argument("data_dir", required=False, type=click.Path(file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Địa chỉ lắng nghe; khác 127.0.0.1 thì phải có mật khẩu.")
@click.option("--port", default=8765, show_default=True, type=int, help="Cổng.")
@click.option("--no-browser", is_flag=True, help="Không tự mở trình duyệt.")
@click.option("--password", envvar="CCHC_PASSWORD", default=None,
              help="Mật khẩu vào trang (hoặc biến môi trường CCHC_PASSWORD); bắt buộc khi mở cho máy khác.")
def serve_command(data_dir, host, port, no_browser, password):
    """Mở trang làm việc trên trình duyệt cho cả đợt đánh giá (mặc định thư mục Documents/cchc)."""
    from cchc_xls.web.serve import default_data_dir, serve

    folder = Path(data_dir) if data_dir else default_data_dir()
    serve(folder, host=host, port=port, open_browser=not no_browser, password=password,
          echo=click.echo)


if __name__ == "__main__":  # pragma: no cover
    main()
