
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
    "GenerateStoryResult": [
      "BudgetExceededError",
      "GenerateStorySuccess",
      "IdempotencyKeyReusedError",
      "InputError",
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
      "Generation",
      "Story"
    ],
    "RotateWebhookSecretResult": [
      "RotateWebhookSecretSuccess"
    ]
  }
};
      export default result;
    