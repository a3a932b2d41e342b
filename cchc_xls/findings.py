"""Findings: every problem the tool reports, as data, from one catalogue of Vietnamese messages.

A finding says where (file, sheet, cell or rubric node), what is wrong, and how to fix it.
Codes are stable identifiers (tests and harvest.json use them); messages are for people.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


SEVERITY_LABEL = {"error": "Lỗi", "warning": "Cảnh báo", "info": "Thông tin"}
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO

# code -> (severity, message template). Templates use str.format fields.
CATALOGUE: dict[str, tuple[Severity, str]] = {
    # --- rubric files -------------------------------------------------------------------
    "rubric.unreadable": (E, "Không đọc được tệp bộ tiêu chí: {reason}. Kiểm tra tệp có đúng định dạng YAML, mã hóa UTF-8."),
    "rubric.not_mapping": (E, "{what} phải là một bảng khóa: giá trị (mapping), hiện là {got}."),
    "rubric.unknown_key": (E, "Khóa không hợp lệ “{key}” trong {what}: có thể viết sai chính tả. Các khóa được dùng: {allowed}."),
    "rubric.missing_key": (E, "Thiếu khóa bắt buộc “{key}” trong {what}."),
    "rubric.bad_value": (E, "Giá trị của “{key}” trong {what} không hợp lệ ({got}): {expected}."),
    "rubric.duplicate_code": (E, "Mã “{code}” bị trùng (đã dùng ở {first}). Mỗi tiêu chí phải có một mã riêng."),
    "rubric.missing_label": (E, "Tiêu chí “{code}” chưa có tên (label)."),
    "rubric.nonpositive_max": (E, "Điểm tối đa của “{code}” phải lớn hơn 0, hiện là {max}."),
    "rubric.parent_sum": (E, "Điểm tối đa của “{code}” là {max} nhưng tổng điểm tối đa các tiêu chí con là {sum}: sửa cho bằng nhau."),
    "rubric.total_sum": (E, "Tổng điểm khai báo (total) là {total} nhưng tổng điểm tối đa các lĩnh vực là {sum}."),
    "rubric.parent_scoring": (E, "“{code}” có tiêu chí con nên không được tự mang {key}: điểm của nó là tổng các tiêu chí con."),
    "rubric.level_above_max": (E, "Mức điểm {points} của “{code}” vượt điểm tối đa {max}."),
    "rubric.level_negative": (E, "Mức điểm {points} của “{code}” là số âm."),
    "rubric.level_duplicate": (E, "Mức điểm {points} của “{code}” bị lặp."),
    "rubric.step_invalid": (E, "Bước điểm {step} của “{code}” phải lớn hơn 0 và chia hết điểm tối đa {max}."),
    "rubric.levels_and_step": (E, "“{code}” khai báo cả mức điểm (levels) và bước điểm (step): chỉ dùng một trong hai."),
    "rubric.bad_kind": (E, "Loại đơn vị “{kind}” của “{code}” không hợp lệ; chỉ dùng: xã, phường, đặc khu, thị trấn."),
    "rubric.bad_share": (E, "Tỷ lệ tối đa (max_share) của mức “{name}” là {got}: phải lớn hơn 0 và không quá 1, ví dụ 0.25 là 25% số đơn vị."),
    "rubric.share_on_last_band": (E, "Mức thấp nhất “{name}” không thể có tỷ lệ tối đa (max_share): không còn mức nào thấp hơn để xếp các đơn vị vượt tỷ lệ."),
    "rubric.unknown_sanction": (E, "Hình thức xử lý (sanction) “{got}” không có; chỉ dùng: no_top_band (không xếp loại cao nhất), drop_one_band (hạ một mức), hoặc max_band: \"tên mức\" (không xếp trên mức đó)."),
    "rubric.unknown_band": (E, "max_band “{name}” không phải tên một mức xếp loại; các mức là: {bands}."),
    "rubric.bad_ranking_kind": (E, "Loại đơn vị “{kind}” trong ranking_groups không hợp lệ; chỉ dùng: xã, phường, đặc khu, thị trấn."),
    "rubric.ranking_kind_twice": (E, "Loại đơn vị “{kind}” có ở hai nhóm xếp hạng (ranking_groups): mỗi loại chỉ thuộc một nhóm."),
    "rubric.thresholds_order": (E, "Các mức xếp loại phải theo thứ tự ngưỡng giảm dần và mức cuối có ngưỡng 0; hiện là {got}."),
    "rubric.threshold_above_total": (E, "Ngưỡng {min} của mức “{name}” vượt tổng điểm {total}."),
    "rubric.empty_tree": (E, "Bộ tiêu chí chưa có lĩnh vực nào (tree rỗng)."),
    "rubric.bad_code": (E, "Mã “{code}” không hợp lệ: chỉ dùng chữ số, chữ cái La Mã in hoa và dấu chấm, ví dụ I, 1.1, II.2."),
    # --- loading a rubric: RubricError messages (not findings; the file's findings ride on the error)
    "rubric_load.file_missing": (E, "Không tìm thấy tệp bộ tiêu chí “{path}”."),
    "rubric_load.unknown_id": (E, "Không có bộ tiêu chí “{id}”. Các bộ có sẵn: {known}; hoặc chỉ đường dẫn tới tệp .yaml."),
    "rubric_load.invalid": (E, "Bộ tiêu chí “{path}” có lỗi:\n{lines}"),
    # --- files as files -----------------------------------------------------------------
    "file.skipped_temp": (I, "Bỏ qua tệp tạm của Excel/WPS (tên bắt đầu bằng ~$): không phải tệp đơn vị gửi."),
    "file.skipped_hidden": (I, "Bỏ qua tệp ẩn của hệ thống."),
    "file.skipped_type": (I, "Bỏ qua: “{name}” không phải bảng tính (.xlsx, .xlsm, .xlsb, .xls, .ods)."),
    "file.duplicate": (I, "Tệp giống hệt tệp “{other}” đã nhận: chỉ tính một lần."),
    "file.damaged": (E, "Tệp bị hỏng, không mở được ({reason}). Đề nghị đơn vị mở lại tệp trên máy, lưu và gửi lại."),
    "file.not_spreadsheet": (E, "Đây là {what}, không phải phiếu tự đánh giá. Đề nghị đơn vị gửi tệp Excel phiếu tự đánh giá."),
    "file.zip_bomb": (E, "Tệp bị từ chối vì bung ra quá lớn, có dấu hiệu tệp độc hại ({reason}). Không mở tệp này; đề nghị đơn vị gửi lại."),
    "file.xml_entities": (E, "Tệp bị từ chối: phần {part} chứa khai báo thực thể XML (DTD), có dấu hiệu tệp độc hại. Đề nghị đơn vị gửi lại tệp gốc."),
    "file.encrypted": (E, "Tệp được đặt mật khẩu mở nên không đọc được. Đề nghị đơn vị gỡ mật khẩu (Tệp › Thông tin › Bảo vệ) và gửi lại."),
    "file.encrypted_default": (I, "Tệp được mã hóa bằng mật khẩu mặc định chỉ-đọc của Excel; đã mở được."),
    "file.unsupported": (E, "Không đọc được định dạng {what} trên máy này."),
    "file.macros": (W, "Tệp có macro (VBA): macro không được chạy và không được chép sang tệp tổng hợp."),
    "file.archive": (I, "Tệp nén: đã giải nén {count} tệp bên trong, mỗi tệp được xử lý riêng."),
    "file.archive_damaged": (E, "Tệp nén .zip bị hỏng, không giải nén được ({reason})."),
    "file.archive_too_deep": (W, "Tệp nén lồng nhau quá {depth} lớp: bỏ qua phần bên trong."),
    "file.empty": (E, "Phiếu chưa được điền điểm nào (có thể đơn vị gửi nhầm mẫu trống). Đề nghị đơn vị điền và gửi lại."),
    "file.too_large": (E, "Tệp quá lớn ({size} MB) so với một phiếu tự đánh giá; đã bỏ qua."),
    # --- one file never stops the batch: isolation, budgets, links (issue 12) -------------
    "file.unreadable": (E, "Không đọc được tệp do một lỗi không lường trước ({detail}); các tệp khác vẫn được tổng hợp bình thường. Đề nghị đơn vị mở lại tệp trên máy, lưu và gửi lại; nếu vẫn lỗi, gửi tệp này cho người quản trị cchc-xls kèm nội dung lỗi."),
    "file.reader_crashed": (E, "Trình đọc bảng tính bị dừng đột ngột khi mở tệp này ({detail}), có thể do tệp hỏng hoặc được tạo để làm hỏng chương trình; các tệp khác vẫn được tổng hợp. Đề nghị đơn vị mở lại tệp bằng Excel, lưu dưới dạng .xlsx và gửi lại."),
    "file.timeout": (E, "Đọc tệp quá {seconds} giây nên đã dừng: tệp có thể bị hỏng hoặc chứa quá nhiều ô. Đề nghị đơn vị mở lại tệp bằng Excel, lưu dưới dạng .xlsx và gửi lại."),
    "file.too_costly": (E, "Đọc tệp cần quá nhiều bộ nhớ (hơn {limit} MB) nên đã dừng: tệp có thể bị hỏng hoặc được tạo để làm treo máy. Đề nghị đơn vị mở lại tệp bằng Excel, lưu dưới dạng .xlsx và gửi lại."),
    "file.link": (W, "Bỏ qua liên kết (symbolic link) trỏ tới “{target}”: cchc-xls không đi theo liên kết ra ngoài thư mục đầu vào và không chép tệp đích. Nếu đây là phiếu cần tính, chép chính tệp đó vào thư mục."),
    "file.not_regular": (W, "Bỏ qua: “{name}” không phải tệp thông thường ({what})."),
    "file.vanished": (E, "Tệp không còn đọc được khi đang tổng hợp (đã bị xóa, di chuyển hoặc đang bị khóa: {reason}): chưa tính. Chạy lại cchc harvest khi thư mục không còn thay đổi."),
    "file.changed": (E, "Tệp thay đổi trong khi đang được đọc (có thể đang được tải về hoặc lưu): chưa tính. Chạy lại cchc harvest khi tệp đã lưu xong."),
    "file.run_budget": (E, "Không đọc tệp này: lần tổng hợp đã vượt giới hạn {limit} ({what}). Chia các tệp ra nhiều lần tổng hợp hoặc bỏ bớt các tệp không cần (ảnh, video)."),
    "file.member_encrypted": (E, "Tệp bên trong tệp nén được đặt mật khẩu ({method}) nên không giải nén được. Đề nghị đơn vị nén lại không đặt mật khẩu, hoặc gửi thẳng tệp Excel."),
    "file.member_unsupported": (E, "Tệp bên trong tệp nén dùng {method} mà cchc-xls không giải nén được. Đề nghị đơn vị nén lại bằng kiểu .zip thông thường (Deflate), hoặc gửi thẳng tệp Excel."),
    "file.member_damaged": (E, "Tệp bên trong tệp nén bị hỏng, không giải nén được ({reason}). Đề nghị đơn vị nén lại và gửi lại."),
    "file.member_name": (I, "Tên tệp trong tệp nén không đúng mã UTF-8; các ký tự không đọc được đã được thay bằng “�”."),
    "file.member_date": (I, "Tệp trong tệp nén không có ngày giờ lưu hợp lệ; dùng ngày giờ của tệp nén."),
    "output.input_is_output": (E, "“{path}” là một kết quả mà cchc sẽ ghi vào “{out}”: không đọc nó làm dữ liệu đầu vào. Chọn thư mục kết quả (--out) khác."),
    "output.would_overwrite_input": (E, "Thư mục đầu vào “{path}” cũng là thư mục kết quả và đã có tệp “{name}” không do cchc ghi: tệp này sẽ bị ghi đè. Chọn thư mục kết quả (--out) khác, hoặc đổi tên tệp đó."),
    "output.folder_busy": (E, "Một lần tổng hợp khác đang ghi vào thư mục “{path}” (tiến trình {pid} trên máy {host}). Chờ lần đó chạy xong rồi chạy lại; nếu chắc chắn không còn lần nào đang chạy, xóa tệp “{lock}” trong thư mục đó."),
    "output.lock_failed": (E, "Không lấy được quyền ghi thư mục “{path}”: chạy lại."),
    "results.missing": (E, "Không thấy {path}: chạy “cchc harvest” trước, hoặc chỉ đúng thư mục kết quả."),
    "results.unreadable": (E, "Không đọc được {path}: {reason}. Nếu đã sửa tệp bằng tay, kiểm tra lại dấu ngoặc, dấu phẩy và dấu ngoặc kép."),
    "results.not_object": (E, "{path} không đúng cấu trúc của harvest.json (phải là một đối tượng JSON {{…}})."),
    "results.no_rubric": (E, "{path}: thiếu khóa “rubric” (mã bộ tiêu chí) và không có tệp {copy} bên cạnh."),
    "results.units_not_list": (E, "{path}: khóa “units” phải là một danh sách […] các đơn vị, hiện là {got}."),
    "results.invalid": (E, "{path} có {count} giá trị không dùng được (có thể do sửa tay); sửa rồi chạy lại:\n{problems}"),
    "results.text_number": (E, "“{value}” là chữ, không phải số; viết số không có ngoặc kép, dấu chấm thập phân (ví dụ {hint})."),
    "results.not_number": (E, "phải là một số, hiện là {got}."),
    "results.out_of_range": (E, "số {value} ngoài khoảng hợp lý (−{max} đến {max})."),
    "results.not_mapping": (E, "phải là một bảng {{mã: giá trị}}, hiện là {got}."),
    "results.not_text": (E, "phải là chữ, hiện là {got}."),
    "results.not_list": (E, "phải là một danh sách […], hiện là {got}."),
    "results.not_bool": (E, "phải là true hoặc false, hiện là {got}."),
    "results.not_unit": (E, "mỗi đơn vị phải là một bảng {{…}}, hiện là {got}."),
    "results.no_code": (E, "thiếu mã đơn vị (khóa “code”)."),
    "results.bad_status": (E, "“{value}” không hợp lệ; chỉ dùng: {allowed}."),
    "results.bad_period": (E, "{reason}"),
    "results.bad_constant": (E, "giá trị {name} không phải là số hợp lệ"),
    "results.more_problems": (E, "… và {count} vấn đề khác"),
    # --- e-mail files and what comes with a return --------------------------------------
    "mail.read": (I, "Tệp thư điện tử: đã đọc {messages} thư, lấy ra {count} tệp đính kèm; mỗi tệp được xử lý riêng."),
    "mail.not_message": (E, "Tệp .eml này không phải một thư điện tử (không có dòng tiêu đề thư nào như From, Date, Subject). Lưu lại thư từ hộp thư (Lưu thành tệp .eml) hoặc tải các tệp đính kèm về rồi thu lại."),
    "mail.not_mailbox": (E, "Tệp .mbox này không phải hộp thư dạng mbox (không bắt đầu bằng dòng “From ”). Xuất lại hộp thư từ Thunderbird hoặc hộp thư web."),
    "mail.too_large": (E, "Tệp thư quá lớn ({size} MB); đã bỏ qua. Tải riêng các tệp đính kèm về rồi thu lại."),
    "mail.too_many_messages": (W, "Hộp thư có hơn {limit} thư: chỉ đọc {messages} thư đầu ({count} tệp đính kèm). Chỉ xuất các thư của đợt thu này rồi thu lại."),
    "mail.too_many_attachments": (W, "Tệp thư có quá nhiều tệp đính kèm (giới hạn {limit} tệp, {size} MB): chỉ lấy {count} tệp đầu trong {messages} thư. Chỉ xuất các thư của đợt thu này rồi thu lại."),
    "mail.too_deep": (W, "Thư này nằm trong thư hoặc tệp nén lồng nhau quá {depth} lớp: không đọc phần bên trong. Tải riêng các tệp đính kèm về rồi thu lại."),
    "mail.messages_skipped": (W, "Đã đọc {messages} thư, lấy ra {count} tệp đính kèm; bỏ qua {skipped} thư không đọc được ({detail}). Mở các thư đó trong hộp thư và tải riêng tệp đính kèm về."),
    "mail.damaged": (E, "Không đọc được thư này ({reason}): tệp có thể bị hỏng hoặc có cấu trúc bất thường. Mở thư trong hộp thư và tải riêng các tệp đính kèm về rồi thu lại."),
    "file.attachment": (I, "Tài liệu kèm theo ({what}) của {unit}: đã lưu và liệt kê trong phản hồi, không chấm điểm."),
    "file.matched_by_delivery": (I, "Không đọc được thông tin nhận diện trong tệp; tệp được xem là của {unit} vì gửi kèm phiếu của đơn vị này hoặc tên tệp có mã, tên đơn vị."),
    "file.attachment_unmatched": (W, "Tài liệu ({what}) không gắn được với đơn vị nào: không đi kèm phiếu nào và tên tệp không có mã hay tên đơn vị. Xem tệp và lưu vào hồ sơ của đơn vị gửi."),
    # --- the workbook's shape -------------------------------------------------------------
    "sheet.missing": (E, "Không tìm thấy trang “{name}” có bảng tiêu chí (cột STT và Điểm tự đánh giá). Đề nghị đơn vị dùng đúng mẫu đã gửi."),
    "sheet.renamed": (W, "Trang bảng tiêu chí đã bị đổi tên thành “{name}” (mẫu: “{expected}”); vẫn đọc được."),
    "sheet.unprotected": (W, "Trang tính đã bị gỡ khóa bảo vệ: các điểm tối đa, công thức có thể đã bị sửa. Đã kiểm tra lại từng ô."),
    "sheet.column_missing": (E, "Thiếu cột “{header}” ở dòng tiêu đề: đề nghị đơn vị dùng đúng mẫu."),
    "identity.missing": (W, "Không còn thông tin nhận diện của mẫu (trang ẩn và thuộc tính tệp); đã nhận diện theo {source}."),
    "identity.none": (E, "Không xác định được tệp của đơn vị nào: không có thông tin nhận diện, không có mã đơn vị ở đầu trang."),
    "identity.hidden_sheet_state": (I, "Trang nhận diện “_cchc” đã bị đổi từ ẩn hẳn sang ẩn thường (thường do lưu bằng LibreOffice/WPS); không ảnh hưởng."),
    "identity.conflict": (W, "Thông tin nhận diện mâu thuẫn: {detail}. Đã dùng thông tin của trang ẩn/thuộc tính tệp."),
    "identity.other_rubric": (E, "Tệp theo bộ tiêu chí “{found}”, không phải “{expected}” đang tổng hợp (có thể là mẫu năm trước). Đề nghị đơn vị điền lại trên mẫu mới."),
    "identity.rubric_changed": (W, "Mẫu được tạo từ một phiên bản khác của bộ tiêu chí “{rubric}” (mã nội dung {found}, hiện tại {expected}); đã kiểm tra theo bộ tiêu chí hiện tại."),
    "identity.other_period": (E, "Tệp của kỳ {found}, không phải kỳ {expected} đang tổng hợp. Đề nghị đơn vị gửi đúng phiếu kỳ {expected}."),
    "identity.unknown_unit": (E, "Mã đơn vị {code} ({name}) không có trong danh sách đơn vị: kiểm tra lại danh sách hoặc tệp đơn vị gửi."),
    "identity.chosen_rubric": (E, "Tệp theo bộ tiêu chí khác với bộ tiêu chí đã chọn khi thu: xem thông báo chung của lần thu (có thể đã chọn nhầm bộ tiêu chí); không cần đề nghị đơn vị gửi lại."),
    "identity.chosen_period": (E, "Tệp của kỳ khác với kỳ đã chọn khi thu: xem thông báo chung của lần thu (có thể đã chọn nhầm kỳ đánh giá); không cần đề nghị đơn vị gửi lại."),
    "file.blank_template": (E, "Tệp là mẫu trống do Phòng tạo ra (chưa nhập điểm nào): xem thông báo chung của lần thu."),
    "identity.not_self": (E, "Tệp này là {what}, không phải phiếu tự đánh giá của xã."),
    "identity.period_unknown": (W, "Không xác định được kỳ đánh giá của tệp; coi như kỳ {expected}."),
    "unit.superseded": (W, "Đơn vị đã gửi tệp mới hơn (“{newer}”, lưu lúc {time}); tệp này không được tính."),
    "unit.superseded_other": (I, "Tệp này thay cho {count} tệp cũ hơn của cùng đơn vị: {files}."),
    # --- appraisal and survey workbooks -------------------------------------------------
    "appraisal.other_harvest": (E, "Bảng {what} này thuộc đợt khác ({detail}), không phải đợt đang tổng hợp: không ghép điểm."),
    "appraisal.not_number": (E, "Điểm thẩm định tiêu chí {code} của đơn vị {unit} “{value}” không phải là số: chưa ghép."),
    "appraisal.out_of_range": (E, "Điểm thẩm định {value} của tiêu chí {code} (đơn vị {unit}) ngoài khoảng 0 đến {max}: chưa ghép. Sửa lại điểm."),
    "appraisal.off_level": (E, "Điểm thẩm định {value} của tiêu chí {code} (đơn vị {unit}) không thuộc các mức {allowed}: chưa ghép."),
    "appraisal.unknown_unit": (E, "Mã đơn vị {unit} không có trong danh sách đơn vị: điểm tiêu chí {code} chưa ghép. Kiểm tra lại mã."),
    "appraisal.conflict": (E, "Hai bảng thẩm định cho điểm khác nhau ở tiêu chí {code} của đơn vị {unit}: {value} ở đây và {other} ở “{other_file}” ô {other_cell}. Chưa ghép điểm nào của tiêu chí này: nếu một trong hai tệp là bản cũ, xóa tệp đó khỏi thư mục thu (tệp này hoặc “{other_file}”) rồi thu lại; nếu không, Hội đồng thống nhất một điểm rồi sửa một trong hai bảng."),
    "appraisal.superseded": (W, "Đã có bản sửa mới hơn của bảng này (“{newer}”, lưu lúc {time}): bảng này không được ghép."),
    "appraisal.merged": (I, "Đã ghép {count} điểm thẩm định/điều tra từ bảng này."),
    # --- the explanation round (giải trình) and the second appraisal ------------------------
    "explanation.not_disputed": (E, "Tiêu chí {code} của đơn vị {unit} không thuộc các tiêu chí cần giải trình (Hội đồng không chấm thấp hơn điểm tự đánh giá và không có ý kiến ở lần 1): {what} chưa được ghép. Kiểm tra lại mã tiêu chí, hoặc xóa dòng này."),
    "explanation.replaced": (W, "Giải trình tiêu chí {code} của đơn vị {unit} ở đây khác giải trình trong tệp “{newer}” gửi sau: dùng giải trình của tệp gửi sau."),
    "explanation.merged": (I, "Đã ghép {count} nội dung giải trình từ bảng này."),
    "round2.merged": (I, "Đã ghép {count} điểm, ý kiến thẩm định lần 2 từ bảng này."),
    "explanation.without_round1": (I, "Đây là {what}: bảng này được ghép khi thu cùng các bảng thẩm định lần 1 của Hội đồng (kết quả sau thẩm định); lần thu này không có bảng thẩm định nào nên chưa ghép. Không phải lỗi của đơn vị."),
    # --- rows and values -----------------------------------------------------------------
    "row.missing": (E, "Thiếu dòng của tiêu chí {code} “{label}” (có thể đã bị xóa): tiêu chí này chưa được chấm."),
    "row.duplicate": (E, "Tiêu chí {code} xuất hiện nhiều lần (dòng {rows}); chỉ đọc dòng {first}."),
    "row.unknown": (W, "Dòng có mã “{code}” không thuộc bộ tiêu chí: không được tính."),
    "row.label_changed": (W, "Tên tiêu chí {code} đã bị sửa: “{found}” (đúng là “{expected}”). Điểm vẫn được đọc theo mã tiêu chí."),
    "row.max_changed": (E, "Điểm tối đa của tiêu chí {code} bị sửa thành {found} (đúng là {expected}); điểm được kiểm tra theo bộ tiêu chí."),
    "row.moved": (I, "Các dòng tiêu chí không còn đúng thứ tự của mẫu (có dòng bị chèn, xóa hoặc sắp xếp lại); điểm vẫn được đọc theo mã tiêu chí."),
    "score.not_number": (E, "Điểm tiêu chí {code} “{value}” không phải là số. Sửa lại: {allowed} (ví dụ {example})."),
    "score.date": (E, "Ô điểm tiêu chí {code} chứa ngày tháng ({value}) thay vì số điểm. Sửa thành số từ 0 đến {max}."),
    "score.negative": (E, "Điểm tiêu chí {code} là {value}, số âm; điểm phải từ 0 đến {max}. Tính là 0."),
    "score.above_max": (E, "Điểm tự đánh giá {value} vượt điểm tối đa {max} của tiêu chí {code}: chỉ tính {max}. Sửa lại điểm."),
    "score.off_level": (E, "Điểm {value} không thuộc các mức điểm của tiêu chí {code} ({allowed}): tạm tính {counted} (mức liền dưới). Sửa lại cho đúng mức."),
    "score.off_step": (E, "Điểm {value} không đúng bước điểm {step} của tiêu chí {code}: tạm tính {counted}. Sửa lại điểm."),
    "score.text_number": (I, "Điểm được nhập dạng chữ “{value}”; đã hiểu là {parsed}."),
    "score.thousands_separator": (W, "Điểm “{value}” có dấu chấm/phẩy như dấu phân cách hàng nghìn; đã hiểu là {parsed}. Kiểm tra lại."),
    "score.missing": (W, "Chưa nhập điểm tiêu chí {code}: tính là 0."),
    "score.survey_entered": (W, "Tiêu chí {code} do tỉnh chấm (điều tra), đơn vị không tự chấm: điểm {value} không được tính."),
    "score.excluded_entered": (W, "Tiêu chí {code} không áp dụng đối với đơn vị này: điểm {value} không được tính."),
    "na.not_allowed": (E, "Tiêu chí {code} không được đánh dấu “Không áp dụng”; dấu này bị bỏ qua."),
    "na.with_score": (W, "Tiêu chí {code} vừa có điểm vừa đánh dấu “Không áp dụng”: tính là không áp dụng."),
    "na.no_explanation": (W, "Tiêu chí {code} được đánh dấu “Không áp dụng” nhưng chưa có giải trình."),
    "feedback.grouped": (I, "{count} ô trên trang “{sheet_name}” có cùng một vấn đề ({cells}). Ví dụ: {example}"),
    "evidence.missing": (W, "Tiêu chí {code} có điểm {value} nhưng chưa ghi tài liệu kiểm chứng."),
    "explanation.missing": (W, "Tiêu chí {code} đạt {value}/{max} điểm nhưng chưa có nội dung giải trình."),
    "text.legacy_encoding": (I, "Văn bản ở ô này được gõ bằng bảng mã {encoding} cũ; đã chuyển sang Unicode: “{preview}”."),
    "formula.replaced": (E, "Ô công thức của {what} đã bị thay bằng số {value}: điểm được tính lại từ các tiêu chí con."),
    "formula.missing_cache": (I, "Tệp chưa được tính lại công thức khi lưu (không có kết quả lưu sẵn); đã tự tính lại tổng."),
    "formula.unknown": (I, "Định dạng .xls không cho biết ô nào là công thức; chỉ so sánh được các tổng hiển thị."),
    "total.mismatch": (E, "Tệp ghi {what} là {shown} nhưng cộng các ô điểm trong tệp được {computed}: công thức đã bị sửa hoặc hỏng. Tổng điểm được tính lại từ từng tiêu chí."),
    "total.shown_differs": (W, "Phiếu hiển thị {what} {shown} nhưng điểm được tính là {counted} vì {reason}: đề nghị đơn vị gõ lại các ô này (số, không phải chữ) để bản in khớp với điểm được tính."),
    "band.shown_differs": (W, "Phiếu hiển thị xếp loại “{shown}” nhưng xếp loại theo điểm được tính là “{counted}” vì {reason}: đề nghị đơn vị gõ lại các ô này để bản in khớp."),
    "total.not_number": (W, "Ô {what} hiển thị “{shown}” thay vì một số; đã tự tính lại: {computed}."),
    # --- the whole run, when nothing could be used: the office's own choice, said once --------
    "harvest.empty_inbox": (E, "Không có bảng tính nào trong các thư mục, tệp đã chọn để thu ({skipped} tệp bị bỏ qua): hộp thư trống hoặc đã chọn nhầm thư mục. Kiểm tra lại đường dẫn."),
    "harvest.wrong_rubric": (E, "Không tệp nào theo bộ tiêu chí “{expected}” đã chọn: có thể đã chọn nhầm bộ tiêu chí: các tệp là của {found} ({count} tệp). Chạy lại lệnh thu với bộ tiêu chí {found}; không cần đề nghị đơn vị gửi lại."),
    "harvest.wrong_period": (E, "Không tệp nào của kỳ đã chọn: có thể đã chọn nhầm kỳ đánh giá: các tệp là của kỳ {found} ({count} tệp). Chạy lại lệnh thu với --period {found} (hoặc bỏ --period)."),
    "harvest.blank_templates": (E, "Các tệp đã chọn là mẫu trống do Phòng tạo ra ({count} tệp, chưa đơn vị nào nhập điểm): có thể đã chọn thư mục mẫu gửi đi thay cho thư mục tệp các đơn vị gửi về."),
    "harvest.nothing_usable": (E, "Không tệp nào trong {count} tệp nhận được dùng được: xem lỗi của từng tệp ở trang “Kiểm tra” của tong-hop.xlsx."),
    # --- hostile or broken files, refused by the reader (issue 12) ------------------------
    "file.bad_value": (E, "Tệp bị hỏng: phần {part} ghi {what} là “{value}”, không đúng định dạng tệp Excel/ODS. Đề nghị đơn vị mở lại tệp bằng Excel hoặc LibreOffice, lưu và gửi lại."),
    "file.xml_encoding": (E, "Tệp bị hỏng: phần {part} khai báo bảng mã “{encoding}” không đọc được. Đề nghị đơn vị mở lại tệp bằng Excel hoặc LibreOffice, lưu và gửi lại."),
    "file.zip_member": (E, "Không đọc được phần {part} của tệp: {reason}. Đề nghị đơn vị mở tệp bằng Excel hoặc LibreOffice, lưu lại thành .xlsx (không đặt mật khẩu) và gửi lại."),
    "file.too_many_cells": (E, "Tệp bị từ chối: trang “{name}” có {count} ô dữ liệu, vượt giới hạn {limit} ô của một phiếu (có dấu hiệu tệp độc hại hoặc dán nhầm dữ liệu). Đề nghị đơn vị xóa các trang, vùng dữ liệu thừa và gửi lại."),
    "file.sheet_too_large": (E, "Tệp bị từ chối: trang “{name}” có dữ liệu ở ô {where}, xa ngoài bảng của một phiếu (tối đa {max_row} dòng, {max_col} cột). Đề nghị đơn vị xóa dữ liệu thừa ngoài bảng và gửi lại."),
    "sheet.cells_ignored": (W, "Trang “{name}” có dữ liệu ngoài phạm vi của phiếu (sau dòng {max_row} hoặc sau cột {max_col}, đầu tiên ở ô {where}): phần đó không được đọc. Nếu có điểm nhập ở đó, đề nghị đơn vị chuyển vào đúng ô của bảng."),
    "score.out_of_range": (E, "Điểm tiêu chí {code} “{value}” là một số quá lớn hoặc không xác định, không phải điểm. Sửa lại: {allowed} (ví dụ {example})."),
}

# Messages outside the returned files: the units file, the period, rubric import from Excel,
# outputs. Units-file and rubric-import problems are findings (file, cell); the others are
# carried by a CchcError with their code (errors.CchcError.code).
CATALOGUE.update({
    # --- the units file (--units) -------------------------------------------------------
    "units.not_found": (E, "Không tìm thấy tệp danh sách đơn vị “{path}”."),
    "units.not_utf8": (E, "Tệp danh sách đơn vị “{name}” không phải mã hóa UTF-8: lưu lại dưới dạng CSV UTF-8."),
    "units.unreadable": (E, "Không đọc được tệp danh sách đơn vị “{name}”: {reason}"),
    "units.empty": (E, "Tệp danh sách đơn vị “{name}” trống."),
    "units.no_units": (E, "Tệp danh sách đơn vị “{name}” không có đơn vị nào."),
    "units.missing_column": (E, "Tệp danh sách đơn vị “{name}” thiếu cột {columns} ở dòng tiêu đề (dòng {row}); tiêu đề hiện có: {found}."),
    "units.has_errors": (E, "Tệp danh sách đơn vị “{name}” có lỗi:\n- {problems}"),
    "units.missing_code": (E, "dòng {row}: thiếu mã đơn vị"),
    "units.bad_code": (E, "dòng {row}: mã “{code}” chỉ được gồm chữ không dấu, chữ số, dấu chấm, gạch ngang, gạch dưới"),
    "units.missing_name": (E, "dòng {row}: đơn vị mã {code} thiếu tên"),
    "units.duplicate_code": (E, "dòng {row}: mã {code} trùng với dòng {first}"),
    "units.duplicate_name": (W, "Dòng {row}: đơn vị “{name}” (mã {code}) trùng tên với đơn vị mã {other} ở dòng {first}. Kiểm tra lại nếu đây không phải hai đơn vị khác nhau cùng tên."),
    "units.bad_kind": (E, "dòng {row}: loại đơn vị “{kind}” không hợp lệ (chỉ dùng: xã, phường, đặc khu, thị trấn)"),
    # --- the period (--period) ----------------------------------------------------------
    "period.invalid": (E, "Kỳ đánh giá “{text}” không hợp lệ: ghi năm (2024) hoặc nửa năm (2024-H1, 2024-H2)."),
    "period.bad_year": (E, "Năm {year} không hợp lệ."),
    # --- rubric import from Excel (cchc rubric import): row and column of the officer's table
    "rubric_xlsx.unreadable": (E, "Không mở được tệp “{name}”: {reason}"),
    "rubric_xlsx.sheet_missing": (E, "Không có trang “{name}”: lấy thông tin mặc định; nên điền trang này."),
    "rubric_xlsx.no_header": (E, "Không tìm thấy dòng tiêu đề có các cột {headers}."),
    "rubric_xlsx.bad_yes_no": (E, "Giá trị “{value}” không hợp lệ; chỉ dùng: có, không (hoặc để trống)."),
    "rubric_xlsx.bad_window": (E, "Thời gian ban hành “{value}” không hợp lệ: ghi hai ngày cách nhau bằng “đến”, ví dụ {{year-1}}-10-01 đến {{year-1}}-12-31."),
    "rubric_xlsx.missing_code": (E, "Dòng có nội dung “{label}” nhưng thiếu mã ở cột {column}."),
    "rubric_xlsx.duplicate_code": (E, "Mã “{code}” bị trùng với dòng {first}."),
    "rubric_xlsx.max_not_number": (E, "{column} của “{code}” không phải là số: “{value}”."),
    "rubric_xlsx.missing_label": (E, "Tiêu chí “{code}” chưa có tên."),
    "rubric_xlsx.no_parent": (E, "Mã “{code}” không có mục cha “{prefix}” ở phía trên."),
    "rubric_xlsx.step_not_number": (E, "{column} “{value}” không phải là số."),
    "rubric_xlsx.bad_kind": (E, "Loại đơn vị “{kind}” không hợp lệ; chỉ dùng: xã, phường, đặc khu, thị trấn."),
    "rubric_xlsx.bad_part": (E, "Phần “{value}” không hợp lệ; chỉ dùng: thưởng, trừ (hoặc để trống)."),
    "rubric_xlsx.sanction_not_penalty": (E, "Chỉ mục điểm trừ (Phần: trừ) mới ghi {column}."),
    "rubric_xlsx.extra_max_missing": (E, "Có mục điểm {part} nhưng chưa ghi “{label}”."),
    "rubric_xlsx.extra_max_not_number": (E, "{label} không phải là số."),
    "rubric_xlsx.share_not_number": (E, "Tỷ lệ đơn vị tối đa của mức “{name}” không phải là số (ví dụ 0,25 hoặc 25%)."),
    "rubric_xlsx.parent_field": (E, "“{code}” có tiêu chí con nên không ghi {column}: điểm của nó là tổng các tiêu chí con."),
    "rubric_xlsx.parent_sum": (E, "{column} của “{code}” là {max} nhưng tổng các tiêu chí con là {sum}."),
    "rubric_xlsx.nonpositive_max": (E, "{column} của “{code}” phải lớn hơn 0."),
    "rubric_xlsx.levels_and_step": (E, "“{code}” ghi cả {levels} và {step}: chỉ dùng một trong hai."),
    "rubric_xlsx.bad_level_text": (E, "Không hiểu dòng mô tả mức điểm “{line}”: ghi dạng “0,25 = nội dung”."),
    "rubric_xlsx.level_not_number": (E, "Mức điểm “{value}” không phải là số (cách nhau bằng dấu chấm phẩy)."),
    "rubric_xlsx.level_above_max": (E, "Mức điểm {value} của “{code}” vượt điểm tối đa {max}."),
    "rubric_xlsx.band_not_number": (E, "Ngưỡng của mức “{name}” không phải là số."),
    "rubric_xlsx.total_not_number": (E, "Tổng điểm không phải là số."),
    "rubric_xlsx.bad_policy": (E, "Cách tính “{value}” không hợp lệ; chỉ dùng: {allowed}."),
    "rubric_xlsx.bad_info_yes_no": (E, "Giá trị “{value}” không hợp lệ; chỉ dùng: có, không."),
    # --- the office's profile (--profile FILE) --------------------------------------------
    "profile.unreadable": (E, "Không đọc được tệp hồ sơ cơ quan “{path}”: {reason}. Kiểm tra tệp có đúng định dạng YAML (các dòng khóa: giá trị), mã hóa UTF-8."),
    "profile.not_mapping": (E, "Tệp hồ sơ cơ quan phải gồm các dòng “khóa: giá trị”, hiện là {got}."),
    "profile.unknown_key": (E, "Khóa “{key}” không có trong hồ sơ cơ quan: có thể viết sai chính tả. Các khóa được dùng: {allowed}."),
    "profile.bad_value": (E, "Giá trị của “{key}” phải là một dòng chữ, hiện là {got}: viết trên cùng dòng sau dấu hai chấm."),
    "profile.invalid": (E, "Tệp hồ sơ cơ quan “{path}” có {count} lỗi, chưa dùng được:\n{lines}"),
    "report.unknown_unit": (E, "Không có đơn vị mã {code} trong {source}."),
    "report.unit_not_counted": (E, "Đơn vị mã {code} chưa có phiếu được tính ({note}): chưa lập được báo cáo."),
    "report.template_failed": (E, "Không lập được văn bản từ mẫu “{path}”: {reason}. Nếu đã sửa mẫu trong Word, kiểm tra các thẻ {{{{ … }}}} và {{% … %}} còn nguyên, đóng mở đủ."),
    "profile.bad_date": (E, "Ngày “{got}” không hợp lệ: viết theo dạng {form}, ví dụ 15/01/2026."),
    # --- outputs ------------------------------------------------------------------------
    "output.write_failed": (E, "Không ghi được {what} vào “{path}”: {reason}."),
    "output.file_failed": (E, "Không ghi được tệp “{path}”: {reason}."),
    "output.folder_failed": (E, "Không tạo được thư mục {what}“{path}”: {reason}."),
    # --- what a command was asked to do --------------------------------------------------
    "deadline.invalid": (E, "Hạn gửi lại “{value}” không phải một ngày hợp lệ: ghi theo dạng ngày/tháng/năm, ví dụ 15/12/2024."),
    "password.not_ascii": (E, "Mật khẩu khóa trang chỉ dùng chữ không dấu, chữ số và ký hiệu (Excel không nhận mật khẩu có dấu)."),
    "appraisal.nothing_counted": (E, "Chưa có đơn vị nào có phiếu được tính: chưa lập được bảng thẩm định."),
    "explanation.no_appraisal": (E, "Kết quả tổng hợp chưa có điểm thẩm định: chạy lại “cchc harvest” với các bảng thẩm định Hội đồng đã điền, rồi lập bảng giải trình từ kết quả đó."),
    "explanation.nothing_disputed": (E, "Không có tiêu chí nào Hội đồng chấm thấp hơn điểm tự đánh giá hoặc có ý kiến: không cần thẩm định lần 2."),
    "demo.samples_missing": (E, "Thiếu dữ liệu mẫu trong {folder}."),
    "demo.folder_not_empty": (E, "Thư mục “{folder}” đã có tệp khác: chọn một thư mục trống hoặc thư mục chạy thử trước đây."),
    "demo.no_header": (E, "Không thấy dòng tiêu đề trong {sheet}."),
})


def message(code: str, /, **params) -> str:
    """The catalogue's message for `code`, filled with `params` (for CchcError messages)."""
    return CATALOGUE[code][1].format(**params)

# Suggestions for the appraisal council, from reading the evidence (evidence.py): never a score,
# and never in a commune's feedback message (COUNCIL_ONLY tells them apart).
COUNCIL_CATALOGUE: dict[str, tuple[Severity, str]] = {
    "evidence.date_future": (W, "Tiêu chí {code}: văn bản “{reference}” ghi ngày {date}, sau ngày hôm nay ({today}): có thể ghi nhầm ngày hoặc năm. Đề nghị Hội đồng đối chiếu văn bản gốc."),
    "evidence.date_after_period": (W, "Tiêu chí {code}: văn bản “{reference}” ghi ngày {date}, sau khi kết thúc kỳ đánh giá ({end}). Đề nghị Hội đồng kiểm tra văn bản có thuộc kỳ đánh giá không."),
    "evidence.outside_window": (W, "Tiêu chí {code} yêu cầu văn bản ban hành từ {start} đến {end}, nhưng không văn bản nào được trích có ngày trong khoảng này ({references}). Đề nghị Hội đồng kiểm tra thời điểm ban hành."),
    "evidence.no_document": (I, "Tiêu chí {code} tự chấm đủ {max} điểm nhưng tài liệu kiểm chứng không nêu văn bản (số, ký hiệu) hay số liệu nào: “{preview}”. Đề nghị Hội đồng yêu cầu đơn vị bổ sung tài liệu chứng minh."),
    "evidence.token_only": (W, "Tài liệu kiểm chứng của tiêu chí {code} chỉ ghi “{text}”: chưa chứng minh được kết quả. Đề nghị Hội đồng yêu cầu đơn vị ghi rõ số, ký hiệu, ngày văn bản hoặc số liệu."),
    "evidence.shared_document": (W, "Tiêu chí {code}: văn bản “{reference}” cũng được {others} trích làm tài liệu kiểm chứng cho tiêu chí này. Văn bản của đơn vị này không thể là văn bản của đơn vị khác (trừ văn bản của cấp trên): đề nghị Hội đồng đối chiếu bản gốc."),
    "evidence.same_text": (W, "Tài liệu kiểm chứng của tiêu chí {code} giống hệt của {others}: có thể đã sao chép. Đề nghị Hội đồng đối chiếu văn bản gốc của từng đơn vị."),
}
CATALOGUE.update(COUNCIL_CATALOGUE)
COUNCIL_ONLY = frozenset(COUNCIL_CATALOGUE)
CATALOGUE.update({
    # --- the earlier harvest compared with (cchc harvest --previous, compare.py) ------------
    "previous.map_unreadable": (E, "Không đọc được tệp đối chiếu mã đơn vị “{path}”: {reason}."),
    "previous.map_bad_row": (E, "Tệp đối chiếu mã đơn vị “{path}”, dòng {row}: cần hai cột mã cũ, mã mới (ví dụ 30512,31001)."),
    "previous.map_without_previous": (E, "--previous-map chỉ dùng cùng --previous (thư mục kết quả thu năm trước)."),
})


@dataclass(frozen=True)
class Finding:
    """One problem, located as precisely as the input allows."""

    code: str
    severity: str
    message: str
    file: str | None = None
    sheet: str | None = None
    cell: str | None = None
    node: str | None = None

    def where(self) -> str:
        """The location as a person reads it: `file › Sheet!D37` or `file › I › 1.1`."""
        parts = []
        if self.file:
            parts.append(self.file)
        if self.sheet and self.cell:
            parts.append(f"{self.sheet}!{self.cell}")
        elif self.sheet:
            parts.append(self.sheet)
        if self.node:
            parts.append(self.node)
        return " › ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        label = SEVERITY_LABEL[self.severity]
        return f"[{where}] {label}: {self.message}" if where else f"{label}: {self.message}"

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR.value

    @property
    def for_council(self) -> bool:
        """A suggestion for the appraisal council only: left out of a commune's feedback."""
        return self.code in COUNCIL_ONLY


def make(code: str, /, *, file=None, sheet=None, cell=None, node=None, **params) -> Finding:
    """Build a finding from the catalogue; `params` fill the message template."""
    severity, template = CATALOGUE[code]
    return Finding(
        code=code,
        severity=severity.value,
        message=template.format(**params),
        file=None if file is None else str(file),
        sheet=sheet,
        cell=cell,
        node=node,
    )


def has_errors(findings) -> bool:
    return any(f.is_error for f in findings)
