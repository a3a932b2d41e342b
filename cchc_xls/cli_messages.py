"""click's own messages in Vietnamese: usage errors, help headings, "Try … for help".

click marks every text it prints with gettext (`_` and `ngettext`, imported from the standard
`gettext` module into each of its modules), so the translation is installed by giving those
modules a lookup in the catalogue below instead. A text click adds in a later version and not
listed here is printed as click wrote it, never lost.
"""

from __future__ import annotations

import importlib

# click's msgid (exactly as in its source, placeholders included) -> the Vietnamese text.
MESSAGES = {
    "Usage:": "Cách dùng:",
    "Options": "Tuỳ chọn",
    "Commands": "Lệnh",
    "Positional arguments": "Đối số",
    "Show this message and exit.": "Hiện hướng dẫn này rồi thoát.",
    "Show the version and exit.": "Hiện số phiên bản rồi thoát.",
    "%(prog)s, version %(version)s": "%(prog)s, phiên bản %(version)s",
    "Error: {message}": "Lỗi: {message}",
    "Try '{command} {option}' for help.": "Gõ “{command} {option}” để xem hướng dẫn.",
    "Missing argument": "Thiếu đối số",
    "Missing option": "Thiếu tuỳ chọn bắt buộc",
    "Missing parameter": "Thiếu tham số",
    "Missing {param_type}": "Thiếu {param_type}",
    "Missing parameter: {param_name}": "Thiếu tham số: {param_name}",
    "Missing command.": "Chưa ghi lệnh.",
    "No such command {name!r}.": "Không có lệnh {name!r}.",
    "No such option {name!r}.": "Không có tuỳ chọn {name!r}.",
    "Option {name!r} does not take a value.": "Tuỳ chọn {name!r} không nhận giá trị.",
    "Invalid value for {param_hint}: {message}": "Giá trị không hợp lệ cho {param_hint}: {message}",
    "Invalid value: {message}": "Giá trị không hợp lệ: {message}",
    "Argument {name!r} takes {nargs} values.": "Đối số {name!r} cần {nargs} giá trị.",
    "Choose from:\n\t{choices}": "Chọn một trong:\n\t{choices}",
    "{name} {filename!r} does not exist.": "{name} {filename!r} không tồn tại.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} là một thư mục.",
    "{name} {filename!r} is a file.": "{name} {filename!r} là một tệp, không phải thư mục.",
    "{name} {filename!r} is not readable.": "Không đọc được {name} {filename!r}.",
    "{name} {filename!r} is not writable.": "Không ghi được vào {name} {filename!r}.",
    "{name} {filename!r} is not executable.": "{name} {filename!r} không chạy được.",
    "Could not open file {filename!r}: {message}": "Không mở được tệp {filename!r}: {message}",
    "file": "tệp",
    "directory": "thư mục",
    "path": "đường dẫn",
    "{value!r} is not a valid {number_type}.": "{value!r} không phải là {number_type} hợp lệ.",
    "{value} is not in the range {range}.": "{value} nằm ngoài khoảng {range}.",
    "default: {default}": "mặc định: {default}",
    "env var: {var}": "biến môi trường: {var}",
    "required": "bắt buộc",
    "deprecated": "không còn dùng",
    "(dynamic)": "(tính lúc chạy)",
    "Aborted!": "Đã dừng.",
    "Do you want to continue?": "Tiếp tục?",
    "Repeat for confirmation": "Nhập lại để xác nhận",
    "Error: The two entered values do not match.": "Lỗi: hai lần nhập không khớp nhau.",
    "Error: invalid input": "Lỗi: giá trị nhập không hợp lệ",
    "Press any key to continue...": "Nhấn phím bất kỳ để tiếp tục...",
    "Confirm the action without prompting.": "Xác nhận luôn, không hỏi lại.",
    "unknown error": "lỗi không rõ",
}
# (singular, plural) msgid -> the Vietnamese text (Vietnamese has one form).
PLURALS = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"):
        "Thừa đối số không dùng đến ({args})",
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."):
        "Tuỳ chọn {name!r} cần {nargs} giá trị.",
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"):
        "(Có phải ý bạn là: {possibilities}?)",
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."):
        "{value!r} không thuộc các lựa chọn {choices}.",
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."):
        "Cần {nargs} giá trị nhưng có {len}.",
    ("{value!r} does not match the format {format}.", "{value!r} does not match the formats {formats}."):
        "{value!r} không đúng định dạng {formats}.",
    ("{len_type} values are required, but {len_value} was given.",
     "{len_type} values are required, but {len_value} were given."):
        "Cần {len_type} giá trị nhưng có {len_value}.",
}
OPTIONS_METAVAR = "[TUỲ CHỌN]"
SUBCOMMAND_METAVAR = "LỆNH [ĐỐI SỐ]..."
# The modules of click that print through gettext.
CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types", "utils",
                 "shell_completion")


def translate(message: str) -> str:
    """click's text in Vietnamese; the text itself when the catalogue has none."""
    return MESSAGES.get(message, message)


def translate_plural(singular: str, plural: str, count: int) -> str:
    """click's singular/plural text in Vietnamese (one form, every placeholder kept)."""
    text = PLURALS.get((singular, plural))
    if text is None:
        return singular if count == 1 else plural
    return text


# click's basic types, by the name it shows as a metavar (upper case) and in "not a valid …".
TYPE_NAMES = {"STRING": "giá trị", "INT": "số nguyên", "FLOAT": "số", "BOOL": "có/không", "UUID": "mã UUID"}


def install() -> None:
    """Make click print its own messages in Vietnamese (idempotent)."""
    import click

    for attribute, name in TYPE_NAMES.items():
        getattr(click, attribute).name = name
    for name in CLICK_MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:  # a module a later click version dropped
            continue
        if hasattr(module, "_"):
            module._ = translate
        if hasattr(module, "ngettext"):
            module.ngettext = translate_plural
