"""Words shown to people, Vietnamese first, English second.

Pages and refusals look their text up here by key, so a new language is one more table.
"""

from __future__ import annotations

from typing import Iterable

LANGUAGES = ("vi", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "vi": {
        "app.name": "Định danh điện tử PostID",
        "login.title": "Đăng nhập",
        "login.identifier": "Số định danh cá nhân (CCCD) hoặc số điện thoại",
        "login.password": "Mật khẩu",
        "login.submit": "Đăng nhập",
        "login.for_client": "để tiếp tục tới {client}",
        "login.failed": "Số định danh/số điện thoại hoặc mật khẩu không đúng.",
        "login.locked": "Tài khoản tạm thời không thể đăng nhập. Vui lòng liên hệ bộ phận hỗ trợ.",
        "consent.title": "Cho phép chia sẻ thông tin",
        "consent.intro": "{client} yêu cầu quyền truy cập các thông tin sau của bạn:",
        "consent.allow": "Cho phép",
        "consent.deny": "Từ chối",
        "consent.signed_in_as": "Bạn đang đăng nhập với tên {name}.",
        "scope.openid": "Mã định danh tài khoản của bạn đối với cổng dịch vụ này",
        "scope.profile": "Họ và tên, ngày sinh, giới tính",
        "scope.email": "Địa chỉ thư điện tử",
        "scope.phone": "Số điện thoại",
        "scope.offline_access": "Duy trì truy cập khi bạn không trực tuyến",
        "error.title": "Không thể tiếp tục",
        "error.generic": "Yêu cầu không hợp lệ.",
        "error.expired": "Phiên thao tác đã hết hạn hoặc không còn hợp lệ. Vui lòng quay lại cổng dịch vụ và thử lại.",
        "error.csrf": "Biểu mẫu đã hết hạn. Vui lòng tải lại trang và thử lại.",
        "logout.title": "Đăng xuất",
        "logout.confirm": "Bạn có muốn đăng xuất khỏi PostID không?",
        "logout.submit": "Đăng xuất",
        "logout.done": "Bạn đã đăng xuất.",
        "lang.switch": "English",
        "field.citizen_id": "Số định danh cá nhân",
        "field.full_name": "Họ và tên",
        "field.birth_date": "Ngày sinh",
        "field.sex": "Giới tính",
        "field.phone": "Số điện thoại",
        "field.email": "Thư điện tử",
        "field.password": "Mật khẩu",
        "invalid.required": "{field}: không được để trống.",
        "invalid.citizen_id_format": "{field}: phải gồm đúng 12 chữ số.",
        "invalid.citizen_id_province": "{field}: mã tỉnh {province} không tồn tại.",
        "invalid.citizen_id_sex": "{field}: chữ số thứ 4 không khớp với giới tính đã khai.",
        "invalid.citizen_id_year": "{field}: năm sinh trong số định danh ({year}) không khớp với ngày sinh.",
        "invalid.date": "{field}: phải là ngày hợp lệ theo dạng NNNN-TT-NN.",
        "invalid.future_date": "{field}: không được ở tương lai.",
        "invalid.sex": "{field}: phải là nam (male) hoặc nữ (female).",
        "invalid.phone": "{field}: phải là số di động Việt Nam (ví dụ 0912 345 678).",
        "invalid.email": "{field}: địa chỉ không hợp lệ.",
        "invalid.name": "{field}: phải có từ 2 đến 100 ký tự chữ.",
        "invalid.password_short": "{field}: phải có ít nhất {min} ký tự.",
        "invalid.password_long": "{field}: không được dài quá {max} ký tự.",
        "invalid.taken": "{field}: đã được đăng ký.",
        "field.name": "Tên",
        "field.redirect_uri": "Địa chỉ chuyển hướng (redirect URI)",
        "field.post_logout_redirect_uri": "Địa chỉ sau đăng xuất",
        "field.auth_method": "Cách xác thực",
        "field.id_token_alg": "Thuật toán ký",
        "field.scope": "Phạm vi",
        "invalid.redirect_uri": "{field}: phải là URL https đầy đủ (http chỉ cho 127.0.0.1), không có #.",
        "invalid.choice": "{field}: giá trị không được hỗ trợ.",
    },
    "en": {
        "app.name": "PostID digital identity",
        "login.title": "Log in",
        "login.identifier": "Citizen ID number or phone number",
        "login.password": "Password",
        "login.submit": "Log in",
        "login.for_client": "to continue to {client}",
        "login.failed": "The citizen ID number/phone number or password is not correct.",
        "login.locked": "This account cannot log in at the moment. Please contact support.",
        "consent.title": "Allow sharing your information",
        "consent.intro": "{client} asks for the following information about you:",
        "consent.allow": "Allow",
        "consent.deny": "Deny",
        "consent.signed_in_as": "You are logged in as {name}.",
        "scope.openid": "An identifier for your account with this portal",
        "scope.profile": "Full name, date of birth, sex",
        "scope.email": "Email address",
        "scope.phone": "Phone number",
        "scope.offline_access": "Keep access while you are not online",
        "error.title": "Cannot continue",
        "error.generic": "The request is not valid.",
        "error.expired": "This step has expired or is no longer valid. Please go back to the portal and try again.",
        "error.csrf": "The form has expired. Please reload the page and try again.",
        "logout.title": "Log out",
        "logout.confirm": "Do you want to log out of PostID?",
        "logout.submit": "Log out",
        "logout.done": "You are logged out.",
        "lang.switch": "Tiếng Việt",
        "field.citizen_id": "Citizen ID number",
        "field.full_name": "Full name",
        "field.birth_date": "Date of birth",
        "field.sex": "Sex",
        "field.phone": "Phone number",
        "field.email": "Email",
        "field.password": "Password",
        "invalid.required": "{field}: is required.",
        "invalid.citizen_id_format": "{field}: must be exactly 12 digits.",
        "invalid.citizen_id_province": "{field}: province code {province} does not exist.",
        "invalid.citizen_id_sex": "{field}: the 4th digit does not match the declared sex.",
        "invalid.citizen_id_year": "{field}: the birth year in the number ({year}) does not match the date of birth.",
        "invalid.date": "{field}: must be a valid date as YYYY-MM-DD.",
        "invalid.future_date": "{field}: must not be in the future.",
        "invalid.sex": "{field}: must be male or female.",
        "invalid.phone": "{field}: must be a Vietnamese mobile number (for example 0912 345 678).",
        "invalid.email": "{field}: is not a valid address.",
        "invalid.name": "{field}: must be 2 to 100 letters long.",
        "invalid.password_short": "{field}: must be at least {min} characters.",
        "invalid.password_long": "{field}: must be at most {max} characters.",
        "invalid.taken": "{field}: is already registered.",
        "field.name": "Name",
        "field.redirect_uri": "Redirect URI",
        "field.post_logout_redirect_uri": "Post-logout redirect URI",
        "field.auth_method": "Auth method",
        "field.id_token_alg": "ID token algorithm",
        "field.scope": "Scope",
        "invalid.redirect_uri": "{field}: must be an absolute https URL (http only on loopback), no fragment.",
        "invalid.choice": "{field}: value not supported.",
    },
}


def pick_language(requested: Iterable[str], default: str) -> str:
    """The first of `requested` (BCP 47 tags, as in `ui_locales`) that we speak, else `default`."""
    for tag in requested:
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES:
            return primary
    return default


def t(lang: str, key: str, **params: object) -> str:
    table = MESSAGES.get(lang, MESSAGES["vi"])
    text = table.get(key) or MESSAGES["en"].get(key) or key
    return text.format(**params) if params else text


def refusal(lang: str, field: str, code: str, params: dict[str, object]) -> str:
    """A ValidationError worded for a person: the field's label, then what is wrong."""
    return t(lang, f"invalid.{code}", field=t(lang, f"field.{field}"), **params)

