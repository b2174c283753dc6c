/** Styles of the explanation view: the heat layer stacked on the preview, and its switch. */
import { css } from 'lit';

export default css`
  .preview-frame {
    position: relative;
    display: block;
  }

  .preview .explain-layer {
    position: absolute;
    inset: 0;
    background: transparent;
    pointer-events: none;
  }

  .explain {
    display: flex;
    flex-direction: column;
    gap: 6px;
    margin-top: -4px;
  }

  .explain-choices {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 6px;
  }

  .explain-title {
    color: var(--digit-muted);
    font-size: 0.8rem;
    font-weight: 600;
    margin-right: 2px;
  }

  .explain-chip {
    min-height: 28px;
    padding: 2px 10px;
    font-size: 0.8rem;
  }

  .explain-chip:disabled {
    cursor: not-allowed;
    opacity: 0.5;
  }

  .explain-chip--cnn[aria-pressed='true'] {
    border-color: var(--digit-cnn-color);
    color: var(--digit-cnn-color);
    background: color-mix(in srgb, var(--digit-cnn-color) 10%, var(--digit-background));
  }

  .explain-chip--vit[aria-pressed='true'] {
    border-color: var(--digit-vit-color);
    color: var(--digit-vit-color);
    background: color-mix(in srgb, var(--digit-vit-color) 10%, var(--digit-background));
  }

  .explain-caption {
    margin: 0;
    color: var(--digit-muted);
    font-size: 0.75rem;
  }
`;
