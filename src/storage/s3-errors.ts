/** What an S3 SDK error carries that we read: its name (S3's error code) and the HTTP status. */
interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

const asSdkError = (error: unknown): SdkError => (typeof error === 'object' && error !== null ? error : {});

/** The object (or upload) does not exist: HeadObject answers a bare 404, GetObject NoSuchKey. */
export function isNotFound(error: unknown): boolean {
  const { name, $metadata } = asSdkError(error);
  return name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchUpload' || $metadata?.httpStatusCode === 404;
}

const REFUSED_CREDENTIALS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'Forbidden', 'InvalidToken', 'ExpiredToken']);
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'TimeoutError']);

/**
 * The start-up check's failure in words an operator can act on, naming the setting to fix. The SDK's own
 * message is kept at the end, for what the categories miss.
 */
export function explainBucketError(error: unknown, where: { bucket: string; region: string; endpoint?: string | undefined }): string {
  const { name = 'Error', message = String(error), code, $metadata } = asSdkError(error);
  const status = $metadata?.httpStatusCode;
  const at = where.endpoint ? `at S3_ENDPOINT ${where.endpoint}` : `in AWS region S3_REGION=${where.region}`;
  const detail = `(${name}: ${message})`;
  if (name === 'NoSuchBucket') {
    return `S3_BUCKET "${where.bucket}" does not exist ${at}: create the bucket, or fix S3_BUCKET, S3_ENDPOINT or S3_REGION ${detail}.`;
  }
  if (name === 'CredentialsProviderError') {
    return `no S3 credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with a role the AWS SDK's default chain can use ${detail}.`;
  }
  if (REFUSED_CREDENTIALS.has(name) || status === 403) {
    return (
      `the bucket refused the credentials: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the role the AWS SDK found), ` +
      `and that they may write to S3_BUCKET "${where.bucket}" ${at} ${detail}.`
    );
  }
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || status === 301) {
    return `S3_BUCKET "${where.bucket}" is not in S3_REGION ${where.region}: set S3_REGION to the bucket's region ${detail}.`;
  }
  if (UNREACHABLE.has(code ?? '') || UNREACHABLE.has(name) || status === undefined) {
    return `the bucket cannot be reached ${at}: check S3_ENDPOINT (and S3_FORCE_PATH_STYLE for MinIO-style endpoints) and that the service is running ${detail}.`;
  }
  return `the bucket check failed ${at}: check S3_BUCKET, S3_ENDPOINT and the credentials ${detail}.`;
}
