
      export interface PossibleTypesResultData {
        possibleTypes: {
          [key: string]: string[]
        }
      }
      const result: PossibleTypesResultData = {
  "possibleTypes": {
    "CancelGenerationResult": [
      "CancelGenerationSuccess",
      "NotCancelableError",
      "NotFoundError"
    ],
    "Error": [
      "BudgetExceededError",
      "IdempotencyKeyReusedError",
      "InputError",
      "NotCancelableError",
      "NotFoundError",
      "TooManyActiveGenerationsError",
      "UploadFailedError"
    ],
    "GenerateVideoResult": [
      "BudgetExceededError",
      "GenerateVideoSuccess",
      "IdempotencyKeyReusedError",
      "InputError",
      "TooManyActiveGenerationsError",
      "UploadFailedError"
    ],
    "Node": [
      "Generation"
    ],
    "RotateWebhookSecretResult": [
      "RotateWebhookSecretSuccess"
    ]
  }
};
      export default result;
    