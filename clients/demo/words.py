"""What the demo portal tells a citizen when a login did not work, in Vietnamese words.

The provider answers with an OAuth `error` code and an English `error_description` written for
developers ("the account's identity is not verified to LoA2"); the SDK adds its own reason code
(`authorization_denied`, `state_mismatch`). A citizen reads neither: each known code becomes a
sentence that says what happened and what to do, and a description the provider is known to send
is put into Vietnamese as well. The codes and the provider's own words stay on the page, folded
away under "Chi tiết kỹ thuật" for whoever runs the portal.
"""

from __future__ import annotations

__all__ = ["explain"]

# The provider's `error` (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6, RFC 9470), or the SDK's own code.
BY_CODE = {
    "access_denied": "Bạn đã không cho phép cổng dịch vụ nhận thông tin của mình, nên chưa thể đăng nhập.",
    "unmet_authentication_requirements": "Trang này cần tài khoản định danh mức 2: danh tính của bạn phải được xác minh trực tiếp tại quầy giao dịch bưu điện, và đăng nhập bằng hai lớp xác thực.",
    "insufficient_assurance": "Trang này cần tài khoản định danh mức 2, nhưng lần đăng nhập vừa rồi chỉ đạt mức thấp hơn.",
    "unmet_amr": "Trang này chỉ mở cho lần đăng nhập bằng khóa truy cập (passkey), nhưng lần đăng nhập vừa rồi dùng cách khác. Hãy đăng nhập lại và chọn “Đăng nhập bằng khóa truy cập”, hoặc thêm khóa truy cập trong trang tài khoản PostID.",
    "login_required": "Bạn chưa đăng nhập PostID hoặc phiên đăng nhập đã hết. Vui lòng đăng nhập lại.",
    "consent_required": "Bạn chưa cho phép cổng dịch vụ này nhận thông tin của mình.",
    "interaction_required": "Cần thao tác thêm trên trang PostID. Vui lòng đăng nhập lại.",
    "invalid_client": "Cổng dịch vụ này chưa được PostID chấp nhận (mã bí mật của cổng không còn đúng). Người quản lý cổng cần khởi động lại cổng với mã bí mật mới.",
    "unauthorized_client": "Cổng dịch vụ này không được phép đăng nhập theo cách này.",
    "invalid_grant": "Lượt đăng nhập đã hết hạn hoặc đã được dùng. Vui lòng đăng nhập lại.",
    "state_mismatch": "Lượt đăng nhập này không bắt đầu từ trình duyệt của bạn hoặc đã hết hạn. Vui lòng đăng nhập lại.",
    "invalid_callback": "Lượt đăng nhập không hợp lệ hoặc đã hết hạn. Vui lòng đăng nhập lại.",
    "provider_unavailable": "Hệ thống PostID tạm thời không phản hồi. Vui lòng thử lại sau ít phút.",
    "temporarily_unavailable": "Hệ thống PostID đang bận. Vui lòng thử lại sau ít phút.",
    "server_error": "Hệ thống PostID gặp lỗi. Vui lòng thử lại sau ít phút.",
}

# Descriptions the provider sends (idp/core/interactions.py), each in Vietnamese.
BY_DESCRIPTION = {
    "the citizen did not allow this request": "Bạn đã chọn “Từ chối” trên trang PostID.",
    "the account's identity is not verified to LoA2": "Danh tính trong tài khoản của bạn chưa được xác minh tại quầy (tài khoản đang ở mức 1).",
    "a second factor is needed for LoA2": "Mức 2 cần thêm lớp xác thực thứ hai (mã SMS hoặc ứng dụng xác thực).",
    "the citizen is not logged in": "Bạn chưa đăng nhập PostID.",
    "the login page expired before it was completed": "Trang đăng nhập đã hết hạn trước khi bạn hoàn tất.",
    "the citizen has not allowed this portal yet": "Bạn chưa cho phép cổng dịch vụ này.",
    "client authentication failed": "PostID không nhận ra cổng dịch vụ này (sai mã bí mật).",
}

FALLBACK = "Đăng nhập qua PostID không thành công. Vui lòng thử lại."


def explain(sdk_code: str, provider_error: str | None, description: str | None) -> tuple[str, str | None]:
    """The sentence to show, and the provider's reason in Vietnamese when we know its words."""
    sentence = BY_CODE.get(provider_error or "") or BY_CODE.get(sdk_code) or FALLBACK
    reason = BY_DESCRIPTION.get((description or "").strip())
    if reason is None and description and description.startswith("this login cannot reach"):
        reason = "Cách đăng nhập vừa dùng không đạt được mức mà trang này yêu cầu."
    if reason is None and description and description.startswith("the account cannot reach"):
        reason = "Tài khoản của bạn chưa đạt mức mà trang này yêu cầu."
    return sentence, reason
