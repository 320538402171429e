#!/usr/bin/env bash
# Make the macOS disk image from the PyInstaller .app: signed inside-out with the hardened
# runtime, notarized and stapled when the environment names an identity, unsigned otherwise.
#
#   packaging/macos/make_dmg.sh "dist/Model Workbench.app" dist/ModelWorkbench-X.Y.Z-macos-arm64.dmg
#
# Environment (all optional; without MACOS_SIGN_IDENTITY the .dmg is unsigned):
#   MACOS_SIGN_IDENTITY      "Developer ID Application: Name (TEAMID)", in the keychain
#   MACOS_NOTARY_PROFILE     a profile stored with `xcrun notarytool store-credentials`, or
#   MACOS_NOTARY_APPLE_ID, MACOS_NOTARY_TEAM_ID, MACOS_NOTARY_PASSWORD (app-specific password)
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 APP DMG" >&2
    exit 2
fi
app=$1
dmg=$2
here=$(cd "$(dirname "$0")" && pwd)
entitlements="$here/entitlements.plist"
identity=${MACOS_SIGN_IDENTITY:-}

if [[ ! -d "$app/Contents/MacOS" ]]; then
    echo "make_dmg.sh: $app is not an application bundle" >&2
    exit 2
fi

sign() {
    codesign --force --timestamp --options runtime --entitlements "$entitlements" \
        --sign "$identity" "$1"
}

if [[ -n "$identity" ]]; then
    echo "signing $app as $identity"
    # Inside-out: every library and executable first, the bundle itself last. --deep is
    # not used; Apple advises against it for anything but a quick check.
    while IFS= read -r -d '' file; do
        if file -b "$file" | grep -q "Mach-O"; then
            sign "$file"
        fi
    done < <(find "$app/Contents" -type f \( -name "*.so" -o -name "*.dylib" -o -perm -u+x \) \
        ! -path "$app/Contents/MacOS/*" -print0)
    while IFS= read -r -d '' framework; do
        sign "$framework"
    done < <(find "$app/Contents" -type d -name "*.framework" -print0)
    for exe in "$app"/Contents/MacOS/*; do
        sign "$exe"
    done
    sign "$app"
    codesign --verify --strict --verbose=2 "$app"
else
    echo "MACOS_SIGN_IDENTITY is not set: the .dmg will be UNSIGNED (Gatekeeper will warn;" \
        "right-click > Open the first time)"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
rm -f "$dmg"
hdiutil create -volname "Model Workbench" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$dmg"

if [[ -z "$identity" ]]; then
    echo "wrote $dmg (unsigned, not notarized)"
    exit 0
fi
codesign --force --timestamp --sign "$identity" "$dmg"

if [[ -n "${MACOS_NOTARY_PROFILE:-}" ]]; then
    xcrun notarytool submit "$dmg" --keychain-profile "$MACOS_NOTARY_PROFILE" --wait
elif [[ -n "${MACOS_NOTARY_APPLE_ID:-}" && -n "${MACOS_NOTARY_TEAM_ID:-}" && -n "${MACOS_NOTARY_PASSWORD:-}" ]]; then
    xcrun notarytool submit "$dmg" --apple-id "$MACOS_NOTARY_APPLE_ID" \
        --team-id "$MACOS_NOTARY_TEAM_ID" --password "$MACOS_NOTARY_PASSWORD" --wait
else
    echo "no notarization credentials (MACOS_NOTARY_PROFILE, or MACOS_NOTARY_APPLE_ID," \
        "MACOS_NOTARY_TEAM_ID and MACOS_NOTARY_PASSWORD): wrote $dmg signed, NOT notarized"
    exit 0
fi
xcrun stapler staple "$dmg"
xcrun stapler validate "$dmg"
echo "wrote $dmg (signed, notarized and stapled)"
