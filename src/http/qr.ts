import QRCode from 'qrcode';

const QR_MARGIN = 4;

/**
 * The QR code of an otpauth URI as an image: drawn at a whole number of pixels per module,
 * at most 300 px wide with its quiet zone, and shown at exactly that size, so every module
 * comes out the same.
 */
export async function otpauthQr(uri: string): Promise<{ qr: string; qrSize: number }> {
  const modules = QRCode.create(uri, { errorCorrectionLevel: 'M' }).modules.size + 2 * QR_MARGIN;
  const scale = Math.max(2, Math.floor(300 / modules));
  const qr = await QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: QR_MARGIN, scale });
  return { qr, qrSize: modules * scale };
}
