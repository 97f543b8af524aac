// After a passkey is registered (django-otp-webauthn's event), go on: to the recovery codes at a first
// enrolment, or back to the security page to list it.
document.addEventListener("otp_webauthn.register_complete", () => {
  const box = document.querySelector("[data-passkey-register]");
  const next = box && box.dataset.afterRegister;
  if (next) {
    window.location.assign(next);
  }
});
