"""Makes the sample pictures from Meta's PDQ test images (BSD, see LICENSE).

Run from the repository root with the pdq-vectors folder beside it:
    python3 samples/make_samples.py ../shared/pdq-vectors/meta
"""
import sys
from PIL import Image, ImageDraw

meta = sys.argv[1]
bridge = Image.open(f"{meta}/modes__original.jpg").convert("RGB")
bridge.thumbnail((640, 640))
bridge.save("samples/bridge.jpg", quality=88)
# Near-duplicates: a heavy re-encode, a resize, a caption bar, a mirror.
bridge.save("samples/bridge_reencoded_q35.jpg", quality=35)
bridge.resize((bridge.width // 2, bridge.height // 2), Image.BICUBIC).save("samples/bridge_small.png")
w, h = bridge.size
captioned = Image.new("RGB", (w, h + 28), "black")
captioned.paste(bridge, (0, 0))
draw = ImageDraw.Draw(captioned)
draw.text((12, h + 8), "BOYCOTT! share before they delete this #paris2024", fill="white")
captioned.save("samples/bridge_caption.jpg", quality=85)
bridge.transpose(Image.FLIP_LEFT_RIGHT).save("samples/bridge_mirrored.webp", quality=80)
# Unrelated pictures.
other = Image.open(f"{meta}/misc-images__c.png").convert("RGB")
other.thumbnail((480, 480))
other.save("samples/other.jpg", quality=85)
Image.open(f"{meta}/reg-test-input__labelme-subset__q2821.jpg").save("samples/street.png")
